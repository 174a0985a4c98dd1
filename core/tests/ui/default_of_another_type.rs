use plinth::Entity;

#[derive(Entity)]
struct Gadget {
    #[entity(default = "three")]
    size: i64,
}

fn main() {}
