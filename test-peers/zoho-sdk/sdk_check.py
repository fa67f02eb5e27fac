"""Drives the official Zoho CRM Python SDK (zohocrmsdk8-0) against a running `trestle serve`.

Usage: sdk_check.py <trestle base URL> <organization id> <management API token> <work dir>

1. Provisions, through Trestle's management API, a server OAuth client and a self-client
   grant code, and exchanges the code at /oauth/v2/token for a refresh token.
2. Initializes the SDK with DataCenter.Environment(base, base + "/oauth/v2/token", base) and
   that refresh token: the SDK obtains its own access token (refresh_token grant), then
   calls /crm/v8/users, /crm/v8/org, /crm/v8/settings/fields (Trestle's alias of /bigin/v2).
3. Creates two Contacts, reads them back (list and get by id), updates one, searches, and
   deletes one, checking every answer. Exits non-zero on the first mismatch.
"""

import json
import sys
import urllib.parse
import urllib.request

from zohocrmsdk.src.com.zoho.api.authenticator import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, Initializer, ParameterMap, SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper, APIException, BodyWrapper, DeleteRecordParam, GetRecordsParam, Record,
    RecordOperations, ResponseWrapper, SearchRecordsParam, SuccessResponse,
)

SCOPES = "ZohoBigin.modules.ALL,ZohoBigin.settings.ALL,ZohoBigin.users.ALL,ZohoBigin.org.ALL"


def management(base, api_token, method, path, body):
    request = urllib.request.Request(
        base + path, method=method, data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + api_token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def provision_refresh_token(base, organization_id, api_token):
    client = management(base, api_token, "POST", "/api/v1/oauth-clients", {
        "organization_id": organization_id, "name": "Zoho SDK check", "client_type": "server",
        "redirect_uris": ["http://127.0.0.1:9/callback"]})
    code = management(base, api_token, "POST",
                      "/api/v1/oauth-clients/%s/grant-codes" % client["client_id"],
                      {"scope": SCOPES, "environment": "production"})
    form = urllib.parse.urlencode({
        "grant_type": "authorization_code", "client_id": client["client_id"],
        "client_secret": client["client_secret"], "code": code["code"]}).encode()
    with urllib.request.urlopen(urllib.request.Request(base + "/oauth/v2/token", data=form)) as response:
        tokens = json.loads(response.read())
    if "refresh_token" not in tokens:
        fail("token exchange gave no refresh token: %s" % tokens)
    return client["client_id"], client["client_secret"], tokens["refresh_token"]


def fail(message):
    print("ZOHO SDK CHECK FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def expect_success(label, response, expected_status):
    if response is None:
        fail("%s: no response" % label)
    if response.get_status_code() != expected_status:
        object_ = response.get_object()
        detail = object_.get_message().get_value() if isinstance(object_, APIException) else object_
        fail("%s: status %s, expected %s (%s)" % (label, response.get_status_code(), expected_status, detail))
    return response.get_object()


def action_ids(label, response, expected_status):
    wrapper = expect_success(label, response, expected_status)
    if not isinstance(wrapper, ActionWrapper):
        fail("%s: unexpected %r" % (label, wrapper))
    ids = []
    for item in wrapper.get_data():
        if not isinstance(item, SuccessResponse):
            fail("%s: item failed: %s %s" % (label, item.get_code().get_value(), item.get_details()))
        ids.append(int(item.get_details()["id"]))
    return ids


def main():
    base, organization_id, api_token, work_dir = sys.argv[1:5]
    client_id, client_secret, refresh_token = provision_refresh_token(base, organization_id, api_token)
    environment = DataCenter.Environment(base, base + "/oauth/v2/token", base)
    token = OAuthToken(client_id=client_id, client_secret=client_secret, refresh_token=refresh_token)
    Initializer.initialize(
        environment=environment, token=token, store=FileStore(work_dir + "/tokens.csv"),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=work_dir)
    contacts = RecordOperations("Contacts")

    body = BodyWrapper()
    first, second = Record(), Record()
    first.add_key_value("Last_Name", "Natarajan")
    first.add_key_value("First_Name", "Priya")
    first.add_key_value("Email", "priya@sdk.example")
    second.add_key_value("Last_Name", "Doe")
    second.add_key_value("Email", "doe@sdk.example")
    body.set_data([first, second])
    created = action_ids("create_records", contacts.create_records(body, HeaderMap()), 201)
    if len(created) != 2:
        fail("create_records returned %d ids" % len(created))

    parameters = ParameterMap()
    parameters.add(GetRecordsParam.fields, "Last_Name,Email,First_Name")
    listing = expect_success("get_records", contacts.get_records(parameters, HeaderMap()), 200)
    if not isinstance(listing, ResponseWrapper):
        fail("get_records: unexpected %r" % listing)
    names = sorted(record.get_key_value("Last_Name") for record in listing.get_data())
    if names != ["Doe", "Natarajan"]:
        fail("get_records returned %s" % names)

    record = expect_success("get_record", contacts.get_record(created[0], ParameterMap(), HeaderMap()), 200)
    fetched = record.get_data()[0]
    if fetched.get_key_value("Email") != "priya@sdk.example" or fetched.get_id() != created[0]:
        fail("get_record returned %s" % fetched.get_key_values())

    update = BodyWrapper()
    changed = Record()
    changed.add_key_value("Title", "Head of Ops")
    update.set_data([changed])
    action_ids("update_record", contacts.update_record(created[0], update, HeaderMap()), 200)
    record = expect_success("get_record after update",
                            contacts.get_record(created[0], ParameterMap(), HeaderMap()), 200)
    if record.get_data()[0].get_key_value("Title") != "Head of Ops":
        fail("the update was not stored")

    search = ParameterMap()
    search.add(SearchRecordsParam.criteria, "(Email:equals:doe@sdk.example)")
    found = expect_success("search_records", contacts.search_records(search, HeaderMap()), 200)
    if [int(record.get_id()) for record in found.get_data()] != [created[1]]:
        fail("search_records found the wrong records")

    deletion = ParameterMap()
    deletion.add(DeleteRecordParam.wf_trigger, False)
    action_ids("delete_record", contacts.delete_record(created[1], deletion, HeaderMap()), 200)
    gone = contacts.get_record(created[1], ParameterMap(), HeaderMap())
    if gone.get_status_code() != 204:
        fail("deleted record still readable: status %s" % gone.get_status_code())
    print("Zoho CRM Python SDK check passed: token via refresh_token grant, "
          "create/list/get/update/search/delete of Contacts")


if __name__ == "__main__":
    main()
