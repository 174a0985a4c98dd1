use plinth::Entity;

#[derive(Entity)]
struct User {
    username: String,
}

fn main() {
    let _ = User::columns().usernme.eq("ada");
}
