use serde_json::json;

use super::*;

fn plan(service: &str, task: &str, arguments: Value) -> Result<TaskPlan, IntegrationError> {
    let Value::Array(arguments) = arguments else {
        panic!("arguments must be a list")
    };
    plan_task(service, task, &arguments)
}

#[test]
fn seed_script_get_record_by_id_goes_through_the_named_connection() {
    let planned = plan(
        "bigin",
        "getRecordById",
        json!([
            "Contacts",
            "5725767000000524157",
            {},
            "biginandbooksconnectionnew__biginconnection"
        ]),
    )
    .unwrap();
    assert_eq!(planned.method, TaskMethod::Get);
    assert_eq!(planned.path, "/Contacts/5725767000000524157");
    assert_eq!(
        planned.connection.as_deref(),
        Some("biginandbooksconnectionnew__biginconnection")
    );
    assert_eq!(planned.shape, ResponseShape::WholeBody);
    let envelope = json!({"data": [{"id": "5725767000000524157", "Email": "a@b.c"}]});
    assert_eq!(
        shape_response(&planned, 200, Some(envelope.clone())),
        envelope
    );
}

#[test]
fn plans_snapshot() {
    let calls = [
        (
            "bigin",
            "getRecordById",
            json!(["Contacts", 5725767000000524157u64]),
        ),
        (
            "bigin",
            "getRecords",
            json!(["Contacts", 2, 50, {"fields": "Last_Name,Email"}, "acme__bigin"]),
        ),
        (
            "bigin",
            "searchRecords",
            json!(["Contacts", "(Email:equals:a@b.c)"]),
        ),
        (
            "bigin",
            "createRecord",
            json!(["Contacts", {"Last_Name": "Doe"}, {"trigger": ["workflow"]}, "acme__bigin"]),
        ),
        (
            "bigin",
            "updateRecord",
            json!(["Contacts", "42", {"Phone": "1"}, "acme__bigin"]),
        ),
        (
            "bigin",
            "upsert",
            json!(["Contacts", {"Email": "a@b.c", "Last_Name": "Doe"}, {"duplicate_check_fields": ["Email"]}]),
        ),
        (
            "bigin",
            "deleteRecord",
            json!(["Contacts", "42", "acme__bigin"]),
        ),
        (
            "bigin",
            "getRelatedRecords",
            json!(["Contacts", "Accounts", "7", 1, 10, "acme__bigin"]),
        ),
        ("crm", "getRecordById", json!(["Leads", "9", "acme__crm"])),
        (
            "crm.v8",
            "searchRecords",
            json!(["Leads", "(Email:equals:x)", 1, 200, "email", "acme__crm"]),
        ),
        (
            "crm",
            "bulkUpdate",
            json!(["Leads", [{"id": "1"}, {"id": "2"}]]),
        ),
        (
            "books",
            "getRecords",
            json!([
                "Contacts",
                "10234695",
                "email=a%40b.c&status=active",
                "acme__books"
            ]),
        ),
        (
            "books",
            "getRecords",
            json!(["Contacts", 10234695, {"search_text": "Doe"}, "acme__books"]),
        ),
        (
            "books",
            "getRecordsByID",
            json!(["Invoices", "10234695", "99", "acme__books"]),
        ),
        (
            "books",
            "createRecord",
            json!(["Contacts", "10234695", {"contact_name": "Doe"}, "acme__books"]),
        ),
        (
            "books",
            "updateRecord",
            json!(["Contacts", "10234695", "99", {"contact_name": "Doe"}, "acme__books"]),
        ),
        (
            "inventory",
            "getRecords",
            json!(["Items", "1", "acme__inventory"]),
        ),
    ];
    let planned: Vec<Value> = calls
        .into_iter()
        .map(|(service, task, arguments)| {
            let call = format!("zoho.{service}.{task}({arguments})");
            match plan(service, task, arguments) {
                Ok(plan) => json!({"call": call, "plan": plan}),
                Err(error) => json!({"call": call, "error": error.to_string()}),
            }
        })
        .collect();
    insta::assert_json_snapshot!(planned);
}

#[test]
fn argument_errors_say_what_is_wrong() {
    let cases = [
        (
            plan("bigin", "getRecordById", json!(["Contacts"])),
            "INTEGRATION_ARGUMENT_COUNT",
            "takes 2 to 3 argument(s)",
        ),
        (
            plan("bigin", "getRecordById", json!(["Contacts", "abc"])),
            "INTEGRATION_ARGUMENT_TYPE",
            "argument 2 (record_id)",
        ),
        (
            plan("bigin", "createRecord", json!(["Contacts", "Doe"])),
            "INTEGRATION_ARGUMENT_TYPE",
            "must be a map; got the text \"Doe\"",
        ),
        (
            plan("bigin", "frobnicate", json!([])),
            "INTEGRATION_UNKNOWN_TASK",
            "getRecordById",
        ),
        (
            plan("desk", "getRecords", json!([])),
            "INTEGRATION_UNKNOWN_SERVICE",
            "zoho.desk",
        ),
        (
            plan("bigin", "getRecordById", json!(["Contacts", "1", {}, 5])),
            "INTEGRATION_ARGUMENT_TYPE",
            "connection",
        ),
    ];
    for (result, code, text) in cases {
        let error = result.unwrap_err();
        assert_eq!(error.code(), code, "{error}");
        assert!(error.to_string().contains(text), "{error}");
    }
}

#[test]
fn crm_tasks_unwrap_the_envelope_and_errors_come_back_as_maps() {
    let get = plan("crm", "getRecordById", json!(["Leads", "9"])).unwrap();
    assert_eq!(
        shape_response(&get, 200, Some(json!({"data": [{"id": "9"}]}))),
        json!({"id": "9"})
    );
    assert_eq!(shape_response(&get, 204, None), json!({}));
    let list = plan("crm", "getRecords", json!(["Leads"])).unwrap();
    assert_eq!(shape_response(&list, 204, None), json!([]));
    let update = plan("crm", "updateRecord", json!(["Leads", "9", {"Phone": "1"}])).unwrap();
    let success = json!({"data": [{"code": "SUCCESS", "details": {"id": "9"}, "message": "record updated", "status": "success"}]});
    assert_eq!(
        shape_response(&update, 200, Some(success)),
        json!({"id": "9"})
    );
    let failure = json!({"data": [{"code": "INVALID_DATA", "details": {"id": "9"}, "message": "the related id given seems to be invalid", "status": "error"}]});
    assert_eq!(
        shape_response(&update, 400, Some(failure))["code"],
        "INVALID_DATA"
    );
    let token_error = json!({"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"});
    assert_eq!(
        shape_response(&get, 401, Some(token_error.clone())),
        token_error
    );
}
