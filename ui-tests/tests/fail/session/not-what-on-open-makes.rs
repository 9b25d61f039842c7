use wirehub::prelude::*;

struct Nick(String);
struct Name(String);

async fn opened(conn: Conn) -> Nick {
    Nick(conn.id().to_string())
}

#[ws_route("/chat", on_open = opened)]
async fn chat(name: Session<Name>, text: String) -> String {
    format!("{}: {text}", name.0)
}

fn main() {}
