#[derive(plinth::Entity)]
struct Wrapper<T> {
    value: T,
}

fn main() {}
