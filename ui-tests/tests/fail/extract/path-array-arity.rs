use wirehub::prelude::*;

#[ws_route("/grid/{x}/{y}")]
async fn cell(Path([x, y, z]): Path<[u32; 3]>) -> String {
    format!("{x},{y},{z}")
}

fn main() {}
