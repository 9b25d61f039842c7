use wirehub::prelude::*;

struct Answer {
    text: String,
}

#[ws_route("/answer")]
async fn answer(text: String) -> Json<Answer> {
    Json(Answer { text })
}

fn main() {}
