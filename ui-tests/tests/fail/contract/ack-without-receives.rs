use wirehub::prelude::*;

#[ws_route("/plain")]
async fn plain(text: String) -> Result<Ack, ErrorReply> {
    let _ = text;
    Ok(Ack(()))
}

fn main() {}
