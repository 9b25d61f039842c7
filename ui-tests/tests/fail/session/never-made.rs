use wirehub::prelude::*;

struct Nick(String);

#[ws_route("/chat")]
async fn chat(nick: Session<Nick>, text: String) -> String {
    format!("{}: {text}", nick.0)
}

fn main() {}
