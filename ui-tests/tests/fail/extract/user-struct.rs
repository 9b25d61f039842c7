use wirehub::prelude::*;

struct Command {
    name: String,
}

#[ws_route("/commands")]
async fn commands(conn: Conn, command: Command) -> String {
    let _ = conn.id();
    command.name
}

fn main() {}
