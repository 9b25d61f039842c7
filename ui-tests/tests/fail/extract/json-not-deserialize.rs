use wirehub::prelude::*;

struct Command {
    name: String,
}

#[ws_route("/commands")]
async fn commands(Json(command): Json<Command>) -> String {
    command.name
}

fn main() {}
