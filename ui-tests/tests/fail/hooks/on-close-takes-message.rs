use wirehub::prelude::*;

async fn bye(reason: CloseReason, msg: Message) {
    let _ = (reason, msg);
}

#[ws_route("/chat", on_close = bye)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
