#[derive(plinth::Entity)]
struct AVeryLongEntityNameThatTogetherWithItsPluralSNeedsMoreThanSixtyThreeBytes {
    name: String,
}

#[derive(plinth::Entity)]
struct Short {
    a_field_whose_name_is_longer_than_the_sixty_three_bytes_postgres_keeps: String,
}

fn main() {}
