//! The CRM part of the storage suite: every test runs against SQLite and PostgreSQL (see
//! `support`). Field values here are already normalized, as `trestle-crm` hands them over.

// Fixture helpers outside #[test] functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use serde_json::{Map, Value, json};
use support::storage_test;
use trestle_store::crm::{
    BatchWrite, CrmScope, LookupReference, RecordChange, RecordCursor, RecordSort, WriteOutcome,
};
use trestle_store::{NewUser, Store, UserId};

struct Fixture {
    scope: CrmScope,
    other_environment: CrmScope,
    actor: UserId,
}

async fn fixture(store: &Store) -> Fixture {
    let created = store.organizations().create("Acme").await.unwrap();
    let password_hash = trestle_store::password::hash_password("correct horse battery").unwrap();
    let user = store
        .users()
        .create(&NewUser {
            email: "ana@example.com",
            display_name: "Ana Ruiz",
            password_hash: &password_hash,
            must_change_password: false,
        })
        .await
        .unwrap();
    Fixture {
        scope: CrmScope {
            organization_id: created.organization.id,
            environment_id: created.production.id,
        },
        other_environment: CrmScope {
            organization_id: created.organization.id,
            environment_id: created.sandbox.id,
        },
        actor: user.id,
    }
}

impl Fixture {
    /// Writes `writes` to Contacts in `scope` as the fixture's user, triggering no workflow.
    async fn write_contacts(
        &self,
        store: &Store,
        scope: CrmScope,
        writes: Vec<BatchWrite>,
    ) -> Vec<WriteOutcome> {
        store
            .crm()
            .write_batch(scope, "Contacts", writes, self.actor, &Value::Null)
            .await
            .unwrap()
    }

    /// Inserts one Contact (Last_Name "Doe") and checks that it was inserted.
    async fn insert_contact(
        &self,
        store: &Store,
        scope: CrmScope,
        id: &str,
        email: &str,
    ) -> trestle_store::crm::StoredRecord {
        let outcomes = self
            .write_contacts(store, scope, vec![contact(id, email)])
            .await;
        inserted(&outcomes[0]).clone()
    }
}

/// A change to a Contact whose Email is unique, with no lookups and the default owner.
fn contact_change(value: Value) -> RecordChange {
    RecordChange {
        fields: fields(value),
        unique_fields: vec!["Email".into()],
        lookups: vec![],
        owner_id: None,
    }
}

fn fields(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn contact(id: &str, email: &str) -> BatchWrite {
    BatchWrite::Insert {
        new_id: id.to_owned(),
        change: contact_change(json!({"Last_Name": "Doe", "Email": email})),
    }
}

fn inserted(outcome: &WriteOutcome) -> &trestle_store::crm::StoredRecord {
    match outcome {
        WriteOutcome::Inserted(record) => record,
        other => panic!("expected an insert, got {other:?}"),
    }
}

storage_test!(insert_get_and_environment_isolation, |store| async move {
    let fixture = fixture(&store).await;
    let crm = store.crm();
    let outcomes = crm
        .write_batch(
            fixture.scope,
            "Contacts",
            vec![contact("1000000000000000001", "a@b.c")],
            fixture.actor,
            &json!(["workflow"]),
        )
        .await
        .unwrap();
    let record = inserted(&outcomes[0]);
    assert_eq!(record.owner_id, fixture.actor);
    let fetched = crm
        .get(fixture.scope, "Contacts", "1000000000000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&fetched, record);
    assert_eq!(
        fetched.fields,
        fields(json!({"Last_Name": "Doe", "Email": "a@b.c"}))
    );
    // The same id in the other environment, or another module, is not there.
    assert!(
        crm.get(fixture.other_environment, "Contacts", "1000000000000000001")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        crm.get(fixture.scope, "Accounts", "1000000000000000001")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        crm.count(fixture.other_environment, "Contacts")
            .await
            .unwrap(),
        0
    );
    assert_eq!(crm.count(fixture.scope, "Contacts").await.unwrap(), 1);
});

storage_test!(
    duplicates_and_bad_lookups_fail_per_record,
    |store| async move {
        let fixture = fixture(&store).await;
        let crm = store.crm();
        let with_bad_lookup = BatchWrite::Insert {
            new_id: "1000000000000000003".into(),
            change: RecordChange {
                fields: fields(
                    json!({"Last_Name": "Roe", "Account_Name": {"id": "1999999999999999999"}}),
                ),
                unique_fields: vec!["Email".into()],
                lookups: vec![LookupReference {
                    field: "Account_Name".into(),
                    module: Some("Accounts".into()),
                    id: "1999999999999999999".into(),
                }],
                owner_id: None,
            },
        };
        let outcomes = fixture
            .write_contacts(
                &store,
                fixture.scope,
                vec![
                    contact("1000000000000000001", "a@b.c"),
                    contact("1000000000000000002", " A@B.C "),
                    with_bad_lookup,
                ],
            )
            .await;
        inserted(&outcomes[0]);
        assert_eq!(
            outcomes[1],
            WriteOutcome::Duplicate {
                field: "Email".into(),
                existing_id: "1000000000000000001".into()
            }
        );
        assert_eq!(
            outcomes[2],
            WriteOutcome::InvalidLookup {
                field: "Account_Name".into(),
                id: "1999999999999999999".into()
            }
        );
        assert_eq!(crm.count(fixture.scope, "Contacts").await.unwrap(), 1);
        // The unique value belongs to the environment: the sandbox may reuse it.
        fixture
            .insert_contact(
                &store,
                fixture.other_environment,
                "1000000000000000004",
                "a@b.c",
            )
            .await;
    }
);

storage_test!(
    update_merges_fields_and_records_changed_ones,
    |store| async move {
        let fixture = fixture(&store).await;
        let crm = store.crm();
        fixture
            .write_contacts(
                &store,
                fixture.scope,
                vec![
                    contact("1000000000000000001", "a@b.c"),
                    contact("1000000000000000002", "x@y.z"),
                ],
            )
            .await;
        let update = |id: &str, value: Value| BatchWrite::Update {
            id: id.into(),
            change: contact_change(value),
        };
        let outcomes = crm
            .write_batch(
                fixture.scope,
                "Contacts",
                vec![
                    update(
                        "1000000000000000001",
                        json!({"Phone": "+1 555", "Email": "new@b.c"}),
                    ),
                    update("1000000000000000002", json!({"Email": "NEW@b.c"})),
                    update("1000000000000000009", json!({"Phone": "1"})),
                ],
                fixture.actor,
                &json!([]),
            )
            .await
            .unwrap();
        let WriteOutcome::Updated { record, .. } = &outcomes[0] else {
            panic!("{:?}", outcomes[0])
        };
        assert_eq!(
            record.fields,
            fields(json!({"Last_Name": "Doe", "Email": "new@b.c", "Phone": "+1 555"}))
        );
        assert!(record.modified_time >= record.created_time);
        assert_eq!(
            outcomes[1],
            WriteOutcome::Duplicate {
                field: "Email".into(),
                existing_id: "1000000000000000001".into()
            }
        );
        assert_eq!(
            outcomes[2],
            WriteOutcome::NotFound {
                id: "1000000000000000009".into()
            }
        );
        // The old value is free again.
        fixture
            .insert_contact(&store, fixture.scope, "1000000000000000003", "a@b.c")
            .await;
        let events = crm.events_after(0, 100).await.unwrap();
        let operations: Vec<(&str, &str, Vec<String>)> = events
            .iter()
            .map(|event| {
                (
                    event.record_id.as_str(),
                    event.operation.as_str(),
                    event.changed_fields.clone(),
                )
            })
            .collect();
        assert_eq!(
            operations,
            vec![
                (
                    "1000000000000000001",
                    "create",
                    vec!["Last_Name".to_string(), "Email".to_string()]
                ),
                (
                    "1000000000000000002",
                    "create",
                    vec!["Last_Name".to_string(), "Email".to_string()]
                ),
                (
                    "1000000000000000001",
                    "update",
                    vec!["Phone".to_string(), "Email".to_string()]
                ),
                (
                    "1000000000000000003",
                    "create",
                    vec!["Last_Name".to_string(), "Email".to_string()]
                ),
            ]
        );
        assert_eq!(events[2].triggers, json!([]));
        assert!(
            events
                .windows(2)
                .all(|pair| pair[0].sequence < pair[1].sequence)
        );
    }
);

storage_test!(
    upsert_updates_by_unique_field_or_inserts,
    |store| async move {
        let fixture = fixture(&store).await;
        fixture
            .insert_contact(&store, fixture.scope, "1000000000000000001", "a@b.c")
            .await;
        let upsert = |id: &str, value: Value| BatchWrite::Upsert {
            new_id: id.into(),
            match_fields: vec!["Email".into()],
            change: contact_change(value),
        };
        let outcomes = fixture
            .write_contacts(
                &store,
                fixture.scope,
                vec![
                    upsert(
                        "1000000000000000002",
                        json!({"Email": "A@b.c", "Last_Name": "Updated"}),
                    ),
                    upsert(
                        "1000000000000000003",
                        json!({"Email": "fresh@b.c", "Last_Name": "New"}),
                    ),
                ],
            )
            .await;
        let WriteOutcome::Updated {
            record,
            matched_field,
        } = &outcomes[0]
        else {
            panic!("{:?}", outcomes[0])
        };
        assert_eq!(record.id, "1000000000000000001");
        assert_eq!(matched_field.as_deref(), Some("Email"));
        assert_eq!(inserted(&outcomes[1]).id, "1000000000000000003");
    }
);

storage_test!(
    delete_reports_each_id_and_writes_events,
    |store| async move {
        let fixture = fixture(&store).await;
        let crm = store.crm();
        fixture
            .insert_contact(&store, fixture.scope, "1000000000000000001", "a@b.c")
            .await;
        let deleted = crm
            .delete(
                fixture.other_environment,
                "Contacts",
                &["1000000000000000001".into()],
                fixture.actor,
                &Value::Null,
            )
            .await
            .unwrap();
        assert_eq!(deleted, vec![false], "another environment cannot delete it");
        let deleted = crm
            .delete(
                fixture.scope,
                "Contacts",
                &["1000000000000000001".into(), "1000000000000000002".into()],
                fixture.actor,
                &Value::Null,
            )
            .await
            .unwrap();
        assert_eq!(deleted, vec![true, false]);
        assert!(
            crm.get(fixture.scope, "Contacts", "1000000000000000001")
                .await
                .unwrap()
                .is_none()
        );
        let last = crm.events_after(0, 100).await.unwrap().pop().unwrap();
        assert_eq!(
            (last.operation.as_str(), last.record_id.as_str()),
            ("delete", "1000000000000000001")
        );
        // Its unique value was released with it.
        fixture
            .insert_contact(&store, fixture.scope, "1000000000000000005", "a@b.c")
            .await;
    }
);

storage_test!(keyset_pages_cover_every_record_once, |store| async move {
    let fixture = fixture(&store).await;
    let crm = store.crm();
    let writes: Vec<BatchWrite> = (0..25)
        .map(|index| {
            contact(
                &format!("10000000000000001{index:02}"),
                &format!("p{index}@b.c"),
            )
        })
        .collect();
    fixture.write_contacts(&store, fixture.scope, writes).await;
    for (sort, descending) in [
        (RecordSort::Id, false),
        (RecordSort::Id, true),
        (RecordSort::CreatedTime, true),
        (RecordSort::ModifiedTime, false),
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<RecordCursor> = None;
        loop {
            let page = crm
                .list(
                    fixture.scope,
                    "Contacts",
                    sort,
                    descending,
                    cursor.as_ref(),
                    0,
                    10,
                )
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            let last = page.last().unwrap();
            cursor = Some(RecordCursor {
                sort_value: match sort {
                    RecordSort::Id => last.id.clone(),
                    RecordSort::CreatedTime => last.created_time.to_rfc3339(),
                    RecordSort::ModifiedTime => last.modified_time.to_rfc3339(),
                },
                id: last.id.clone(),
            });
            seen.extend(page.into_iter().map(|record| record.id));
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 25, "{sort:?} {descending}");
        if sort == RecordSort::Id {
            let mut expected = sorted.clone();
            if descending {
                expected.reverse();
            }
            assert_eq!(seen, expected);
        }
    }
    let offset_page = crm
        .list(
            fixture.scope,
            "Contacts",
            RecordSort::Id,
            false,
            None,
            20,
            10,
        )
        .await
        .unwrap();
    assert_eq!(offset_page.len(), 5);
});

storage_test!(custom_metadata_and_user_numbers, |store| async move {
    let fixture = fixture(&store).await;
    let crm = store.crm();
    crm.add_custom_field(
        fixture.scope,
        "Contacts",
        "loyalty__Tier",
        &json!({"api_name": "loyalty__Tier"}),
    )
    .await
    .unwrap();
    let duplicate = crm
        .add_custom_field(fixture.scope, "Contacts", "loyalty__Tier", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), "ALREADY_EXISTS");
    assert_eq!(
        crm.custom_fields(fixture.scope, "Contacts").await.unwrap(),
        vec![json!({"api_name": "loyalty__Tier"})]
    );
    assert!(
        crm.custom_fields(fixture.other_environment, "Contacts")
            .await
            .unwrap()
            .is_empty()
    );
    crm.add_custom_module(
        fixture.scope,
        "ship__Shipments",
        &json!({"api_name": "ship__Shipments"}),
    )
    .await
    .unwrap();
    assert_eq!(crm.custom_modules(fixture.scope).await.unwrap().len(), 1);
    let number = crm.user_numeric_id(fixture.actor).await.unwrap();
    assert_eq!(number.len(), 19);
    assert!(number.bytes().all(|byte| byte.is_ascii_digit()));
    assert_eq!(crm.user_numeric_id(fixture.actor).await.unwrap(), number);
    assert_eq!(
        crm.user_by_numeric_id(&number).await.unwrap(),
        Some(fixture.actor)
    );
});
