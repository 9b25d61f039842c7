use wirehub::prelude::*;

#[derive(Debug)]
struct MyError;

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}

#[ws_route("/echo")]
async fn echo(text: String) -> Result<String, MyError> {
    if text.is_empty() {
        return Err(MyError);
    }
    Ok(text)
}

fn main() {}
