//! The conformance suite: one async check per rule of Plinth's shared semantics, each
//! asserting real values. Every backend runs the same checks through
//! [`conformance_suite!`], natively with `#[tokio::test]` and in Chromium with
//! `#[wasm_bindgen_test]`:
//!
//! ```ignore
//! plinth_conformance::conformance_suite!(tokio::test, plinth_conformance::MemoryFixture::default());
//! ```
//!
//! A backend is done when the whole suite passes on it.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

pub mod cases;
#[cfg(not(target_arch = "wasm32"))]
pub mod counter;
pub mod counting;
pub mod entities;
mod fixture;
#[cfg(not(target_arch = "wasm32"))]
pub mod soak;
#[cfg(not(target_arch = "wasm32"))]
pub mod upsert_race;

pub use fixture::{Capabilities, Fixture, MemoryFixture};

/// Expands to one test per check, each on a fresh database from `$fixture` (an
/// expression evaluated anew for every test), marked with the test attribute `$test`.
#[macro_export]
macro_rules! conformance_suite {
    ($test:meta, $fixture:expr) => {
        $crate::conformance_suite!(@cases $test, $fixture, [
            aggregates::aggregates_over_all_rows_and_over_none,
            aggregates::exists_says_whether_any_row_matches,
            aggregates::groups_are_ordered_by_key_with_null_last,
            aggregates::aggregates_cover_the_window_of_limit_and_offset,
            aggregates::integer_sums_are_exact_past_i64,
            aggregates::extremes_of_every_ordered_type,
            aggregates::aggregates_see_the_sessions_own_writes,
            writes_by_filter::updates_by_filter_set_columns_and_move_updated_at,
            writes_by_filter::an_update_by_filter_that_breaks_a_unique_rule_changes_nothing,
            writes_by_filter::an_update_by_filter_to_a_missing_parent_changes_nothing,
            writes_by_filter::bulk_updates_refuse_bad_input_before_any_io,
            writes_by_filter::deletes_by_filter_remove_the_matching_rows,
            writes_by_filter::deletes_by_filter_follow_every_reference_rule,
            writes_by_filter::bulk_writes_are_the_sessions_own_until_commit,
            writes_by_filter::a_delete_by_filter_takes_rows_that_restrict_each_other_together,
            upsert::upsert_inserts_then_updates_the_row_holding_the_value,
            upsert::upsert_needs_a_unique_column_and_null_always_inserts,
            upsert::upsert_keeps_the_other_unique_rules,
            retries::a_transaction_runs_again_after_a_conflict,
            retries::a_transaction_retries_only_retryable_errors_and_only_so_often,
            one_shot::one_shot_writes_are_committed_when_they_return,
            one_shot::one_shot_writes_keep_every_rule,
            ids::ids_start_at_one_and_grow,
            ids::ids_are_not_reused_after_delete,
            ids::ids_are_not_reused_after_delete_and_reopen,
            ids::ids_keep_growing_after_a_rollback,
            ids::each_table_has_its_own_ids,
            timestamps::created_at_equals_updated_at_on_insert,
            timestamps::timestamps_are_utc_microseconds_near_now,
            timestamps::update_keeps_id_and_created_at_and_moves_updated_at,
            timestamps::update_in_a_later_session_moves_updated_at_forward,
            timestamps::timestamps_read_back_exactly,
            records::to_dict_lists_columns_in_order,
            records::to_dict_formats_every_value_type,
            records::get_returns_what_was_added,
            records::get_of_a_missing_id_is_none,
            records::update_writes_every_field,
            records::a_unique_value_set_to_none_can_be_reused,
            records::update_of_a_deleted_row_is_not_found,
            records::delete_removes_the_row,
            records::delete_of_a_missing_id_is_not_found,
            isolation::uncommitted_writes_are_invisible_to_other_sessions,
            isolation::commit_publishes_every_write_at_once,
            isolation::dropping_a_session_rolls_it_back,
            isolation::rollback_discards_inserts_updates_and_deletes,
            isolation::a_session_sees_its_own_writes,
            isolation::sessions_on_different_rows_both_commit,
            isolation::a_stale_record_cannot_overwrite_a_newer_write,
            isolation::a_second_copy_of_a_record_is_stale_after_the_first_is_written,
            unique::unique_violation_names_table_and_column,
            unique::unique_violation_writes_nothing_and_session_goes_on,
            unique::unique_violation_against_a_committed_row,
            unique::unique_violation_in_add_all_writes_none_of_the_batch,
            unique::unique_violation_in_a_large_add_all_writes_none_of_it,
            unique::unique_violation_on_update,
            unique::a_value_freed_by_delete_can_be_reused,
            unique::nulls_never_collide_in_unique_columns,
            filters::eq_and_ne_skip_nulls,
            filters::lt_le_gt_ge_on_numbers,
            filters::text_compares_by_bytes,
            filters::like_is_case_sensitive_with_wildcards_and_escapes,
            filters::in_matches_listed_values_and_empty_in_matches_nothing,
            filters::in_with_a_list_longer_than_any_parameter_limit,
            filters::a_filter_of_the_largest_size_works_and_a_larger_one_is_refused,
            filters::is_null_and_is_not_null,
            filters::and_or_not_use_three_valued_logic,
            filters::dates_bools_and_timestamps_filter,
            filters::filters_on_id_and_unique_columns,
            filters::id_ranges_select_the_same_rows,
            filters::queries_see_the_sessions_own_writes,
            indexes::filters_on_indexed_columns_match_a_scan,
            indexes::indexed_filters_follow_writes_and_the_sessions_own,
            live::a_live_query_yields_each_result_a_commit_changes,
            live::live_queries_watch_counts_and_stop_when_dropped,
            ordering::nulls_sort_last_ascending_and_first_descending,
            ordering::several_keys_then_id_break_ties,
            ordering::text_sorts_by_bytes,
            ordering::numbers_dates_and_bools_sort,
            paging::limit_and_offset_page_through_results,
            paging::keyset_pages_give_every_row_once_in_order,
            paging::keyset_pages_are_stable_under_concurrent_inserts,
            streaming::streams_give_what_all_gives,
            streaming::a_stream_dropped_part_way_leaves_the_session_usable,
            streaming::a_stream_in_id_order_sees_the_sessions_writes_across_pages,
            paging::count_counts_what_all_returns,
            paging::first_returns_the_first_in_order,
            bulk::add_all_of_1000_rows_keeps_input_order,
            bulk::add_all_of_nothing_returns_nothing,
            values::awkward_strings_round_trip,
            values::extreme_integers_round_trip,
            values::floats_round_trip,
            values::negative_zero_is_stored_as_zero,
            values::non_finite_floats_are_refused,
            values::nul_characters_are_refused,
            values::options_round_trip,
            values::json_round_trips,
            values::bytes_round_trip,
            values::dates_and_timestamps_round_trip,
            values::out_of_range_dates_are_refused,
            values::timestamps_are_truncated_to_microseconds,
            field_types::derived_field_types_round_trip,
            field_types::derived_field_types_filter_and_sort,
            field_types::a_unique_newtype_is_unique_by_its_value,
            field_types::an_unknown_enum_name_is_a_decode_error,
            field_types::unsigned_and_naive_values_round_trip,
            field_types::unsigned_and_naive_values_filter_and_sort,
            field_types::a_stored_value_out_of_an_unsigned_range_is_a_decode_error,
            field_types::a_field_can_be_stored_under_another_column_name,
            field_types::text_longer_than_its_column_allows_is_refused,
            field_types::uuids_compare_and_sort_by_their_bytes,
            errors::unknown_columns_are_refused_before_io,
            errors::wrong_types_are_refused_before_io,
            errors::json_columns_refuse_comparisons,
            errors::a_table_never_created_is_reported,
            errors::bad_input_is_refused_before_any_io,
            schema::create_all_is_idempotent,
            schema::keywords_and_unicode_names_work,
            schema::committed_data_survives_reopening,
            schema::a_hand_built_table_that_cannot_be_stored_is_refused,
            schema::a_stored_table_of_another_schema_is_refused_by_every_operation,
            schema::an_index_more_or_less_is_no_schema_difference,
            evolution::create_all_adds_columns_and_old_rows_read_their_defaults,
            evolution::versions_one_two_and_three_open_the_same_database,
            evolution::each_version_upgrades_the_one_before,
            evolution::changes_create_all_does_not_make_are_refused_and_change_nothing,
            evolution::a_unique_constraint_the_stored_values_violate_is_refused,
            evolution::a_default_its_column_cannot_hold_is_refused,
            migrations::migrations_bring_a_version_one_database_to_the_last_version,
            migrations::a_new_database_gets_the_last_tables_and_every_migration_recorded,
            migrations::a_database_at_an_earlier_version_gets_the_migrations_it_lacks,
            migrations::a_changed_migration_and_an_older_app_are_refused,
            migrations::a_failing_migration_changes_nothing,
            migrations::two_migrators_at_once_both_succeed,
            migrations::renamed_tables_and_columns_keep_their_rows_ids_and_constraints,
            migrations::a_changed_type_is_used_through_the_same_handle_at_once,
            migrations::a_migration_added_below_applied_ones_is_refused,
            migrations::migrations_that_do_not_lead_to_the_entities_are_refused_first,
            relations::a_reference_to_a_missing_row_is_refused_and_the_session_goes_on,
            relations::a_parent_added_in_the_same_session_can_be_referred_to,
            relations::a_delete_cascades_through_three_levels,
            relations::a_delete_sets_null_where_the_rule_says_so,
            relations::a_restricting_reference_refuses_the_delete_and_writes_nothing,
            relations::a_reference_to_a_table_never_created_is_refused,
            relations::related_records_load_in_one_query_per_relation,
            relations::many_to_many_loads_through_the_join_entity,
            relations::a_stored_reference_with_another_rule_is_a_schema_mismatch,
            relations::create_all_adds_a_nullable_reference_column,
            relations::filters_cross_relations_as_semi_joins,
            relations::a_migration_adds_a_reference_column,
            relations::a_large_batch_with_one_missing_reference_writes_nothing,
            relations::a_cascade_over_a_diamond_or_a_cycle_deletes_each_row_once,
            relations::references_no_backend_could_check_are_refused,
            relations::a_handle_not_given_the_tables_keeps_their_references,
            relations::databases_over_one_backend_share_its_relations,
        ]);
    };
    (@cases $test:meta, $fixture:expr, [$($module:ident :: $case:ident),* $(,)?]) => {
        $(
            #[$test]
            async fn $case() {
                let mut fixture = $fixture;
                $crate::cases::$module::$case(&mut fixture).await;
            }
        )*
    };
}
