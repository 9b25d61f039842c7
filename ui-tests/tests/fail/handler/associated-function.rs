use wirehub::prelude::*;

struct ChatServer;

impl ChatServer {
    #[ws_route("/chat")]
    async fn chat(text: String) -> String {
        text
    }
}

fn main() {}
