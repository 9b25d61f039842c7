use wirehub::prelude::*;

struct User {
    name: String,
}

// `Auth<User>` behind an alias still needs a validator on the route.
type Me = Auth<User>;

#[ws_route("/chat")]
async fn chat(me: Me, text: String) -> String {
    format!("{}: {text}", me.name)
}

fn main() {}
