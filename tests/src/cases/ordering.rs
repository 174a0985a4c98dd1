//! Rule 6: one order on every backend (see [`items`](crate::cases::items)).

use plinth::Order;

use crate::cases::{item_order, items};
use crate::Fixture;

/// `NULL`s come last ascending and first descending; ties fall back to `id`.
pub async fn nulls_sort_last_ascending_and_first_descending(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_order(&db, vec![Order::asc("rank")]).await, [3, 5, 1, 4, 7, 2, 6]);
    assert_eq!(item_order(&db, vec![Order::desc("rank")]).await, [2, 6, 7, 1, 4, 5, 3]);
    assert_eq!(item_order(&db, vec![Order::asc("label")]).await, [7, 5, 4, 6, 1, 2, 3]);
    assert_eq!(item_order(&db, vec![Order::desc("label")]).await, [3, 1, 2, 6, 4, 5, 7]);
}

/// Later keys order rows equal on earlier ones; `id` orders what is left.
pub async fn several_keys_then_id_break_ties(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_order(&db, vec![Order::asc("label"), Order::desc("price")]).await, [7, 5, 4, 6, 1, 2, 3]);
    assert_eq!(item_order(&db, vec![Order::desc("active"), Order::asc("name")]).await, [6, 1, 3, 4, 2, 7, 5]);
    assert_eq!(item_order(&db, vec![Order::asc("price")]).await, [4, 5, 2, 1, 7, 3, 6]);
    assert_eq!(item_order(&db, vec![Order::asc("active")]).await, [2, 5, 7, 1, 3, 4, 6]);
    assert_eq!(item_order(&db, vec![Order::desc("id")]).await, [7, 6, 5, 4, 3, 2, 1]);
}

/// Text sorts by UTF-8 bytes: `B` < `Z` < `a` < `c` < `á` < `😀`.
pub async fn text_sorts_by_bytes(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_order(&db, vec![Order::asc("name")]).await, [2, 6, 1, 7, 3, 4, 5]);
    assert_eq!(item_order(&db, vec![Order::desc("name")]).await, [5, 4, 3, 7, 1, 6, 2]);
}

/// Negative floats, dates and booleans sort by value.
pub async fn numbers_dates_and_bools_sort(fx: &mut impl Fixture) {
    let db = items(fx).await;
    assert_eq!(item_order(&db, vec![Order::desc("price")]).await, [6, 3, 1, 7, 2, 5, 4]);
    assert_eq!(item_order(&db, vec![Order::desc("added_on")]).await, [6, 3, 1, 5, 7, 2, 4]);
    assert_eq!(item_order(&db, vec![Order::asc("added_on"), Order::desc("id")]).await, [4, 2, 7, 5, 1, 3, 6]);
}
