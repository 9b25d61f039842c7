use wirehub::prelude::*;

#[ws_route("/echo")]
async fn echo(conn: &Conn, text: String) -> String {
    let _ = conn.id();
    text
}

fn main() {}
