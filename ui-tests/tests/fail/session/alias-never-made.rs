use wirehub::prelude::*;

struct Nick(String);
type Me = Session<Nick>;

#[ws_route("/chat")]
async fn chat(me: Me, text: String) -> String {
    format!("{}: {text}", me.0)
}

fn main() {}
