use wirehub::prelude::*;

struct Chat;

impl Chat {
    #[ws_route("/chat")]
    async fn on_message(&self, text: String) -> String {
        text
    }
}

fn main() {}
