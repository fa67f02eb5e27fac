//! OAuth scopes of the CRM's own API, in Zoho's grammar `<Service>.<scope>.<operation>`:
//! `ZohoBigin.modules.ALL`, `ZohoBigin.modules.contacts.READ`, `ZohoBigin.settings.ALL`,
//! `ZohoBigin.settings.fields.READ`, `ZohoBigin.users.READ`, `ZohoBigin.org.ALL`, ... Matching
//! is case-insensitive, as Zoho's is in practice. Search needs the module's READ scope only:
//! Bigin also asks for `ZohoSearch.securesearch.READ`, which Trestle accepts in a grant but
//! does not demand, so tokens minted for Bigin keep working and simpler grants work too.

use crate::error::CrmError;

/// What an API call needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiredScope {
    /// Record operations on one module (lower-case API name).
    Module {
        module: String,
        operation: Operation,
    },
    /// Metadata: `settings.<kind>` where kind is `modules`, `fields`, ...
    Settings {
        kind: String,
        write: bool,
    },
    Users,
    Organization,
}

/// A record operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Read,
    Create,
    Update,
    Delete,
}

/// A parsed set of granted scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantedScopes {
    scopes: Vec<String>,
}

/// Every scope grammar Trestle's authorization server will grant.
pub fn is_known_scope(scope: &str) -> bool {
    let parts: Vec<String> = scope.split('.').map(str::to_ascii_lowercase).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match parts.as_slice() {
        ["zohobigin", "modules", "all"] => true,
        ["zohobigin", "modules", module, operation] => {
            !module.is_empty()
                && ["all", "read", "create", "update", "delete", "write"].contains(operation)
        }
        ["zohobigin", "settings", "all"] => true,
        ["zohobigin", "settings", kind, operation] => {
            !kind.is_empty() && ["all", "read"].contains(operation)
        }
        ["zohobigin", "users" | "org", "all" | "read"] => true,
        ["zohosearch", "securesearch", "read" | "all"] => true,
        _ => false,
    }
}

impl GrantedScopes {
    /// Parses a comma- or space-separated scope list, refusing unknown scopes by name.
    pub fn parse(text: &str) -> Result<GrantedScopes, CrmError> {
        let mut scopes = Vec::new();
        for scope in text.split([',', ' ']).filter(|scope| !scope.is_empty()) {
            if !is_known_scope(scope) {
                return Err(CrmError::InvalidRequest {
                    message: format!(
                        "unknown scope \"{scope}\"; Trestle grants ZohoBigin.modules.ALL, \
                         ZohoBigin.modules.<module>.<READ|CREATE|UPDATE|DELETE|ALL>, \
                         ZohoBigin.settings.*, ZohoBigin.users.*, ZohoBigin.org.*"
                    ),
                    details: serde_json::json!({ "scope": scope }),
                });
            }
            scopes.push(scope.to_ascii_lowercase());
        }
        if scopes.is_empty() {
            return Err(CrmError::InvalidRequest {
                message: "at least one scope is needed, for example ZohoBigin.modules.ALL".into(),
                details: serde_json::json!({ "scope": "" }),
            });
        }
        scopes.sort();
        scopes.dedup();
        Ok(GrantedScopes { scopes })
    }

    /// The scopes as granted, comma-separated, for token responses.
    pub fn to_scope_string(&self) -> String {
        self.scopes.join(",")
    }

    /// Whether these scopes allow the call.
    pub fn allows(&self, required: &RequiredScope) -> bool {
        self.scopes
            .iter()
            .any(|scope| scope_allows(scope, required))
    }
}

fn scope_allows(scope: &str, required: &RequiredScope) -> bool {
    let parts: Vec<&str> = scope.split('.').collect();
    match (parts.as_slice(), required) {
        (["zohobigin", "modules", "all"], RequiredScope::Module { .. }) => true,
        (
            ["zohobigin", "modules", module, operation],
            RequiredScope::Module {
                module: wanted,
                operation: needed,
            },
        ) => {
            *module == wanted.to_ascii_lowercase()
                && match *operation {
                    "all" => true,
                    "read" => *needed == Operation::Read,
                    "create" => *needed == Operation::Create,
                    "update" => *needed == Operation::Update,
                    "delete" => *needed == Operation::Delete,
                    "write" => matches!(needed, Operation::Create | Operation::Update),
                    _ => false,
                }
        }
        (["zohobigin", "settings", "all"], RequiredScope::Settings { .. }) => true,
        (
            ["zohobigin", "settings", kind, operation],
            RequiredScope::Settings {
                kind: wanted,
                write,
            },
        ) => *kind == wanted.as_str() && (*operation == "all" || !write),
        (["zohobigin", "users", _], RequiredScope::Users) => true,
        (["zohobigin", "org", _], RequiredScope::Organization) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(module: &str, operation: Operation) -> RequiredScope {
        RequiredScope::Module {
            module: module.into(),
            operation,
        }
    }

    #[test]
    fn modules_all_allows_every_record_operation_but_not_settings() {
        let granted = GrantedScopes::parse("ZohoBigin.modules.ALL").unwrap();
        assert!(granted.allows(&module("Contacts", Operation::Delete)));
        assert!(!granted.allows(&RequiredScope::Settings {
            kind: "fields".into(),
            write: false
        }));
        assert!(!granted.allows(&RequiredScope::Users));
    }

    #[test]
    fn module_scopes_are_per_module_and_operation() {
        let granted = GrantedScopes::parse(
            "ZohoBigin.modules.contacts.READ,ZohoBigin.modules.accounts.WRITE",
        )
        .unwrap();
        assert!(granted.allows(&module("Contacts", Operation::Read)));
        assert!(!granted.allows(&module("Contacts", Operation::Create)));
        assert!(granted.allows(&module("Accounts", Operation::Update)));
        assert!(!granted.allows(&module("Accounts", Operation::Delete)));
        assert!(!granted.allows(&module("Pipelines", Operation::Read)));
    }

    #[test]
    fn settings_read_scope_does_not_allow_writes() {
        let granted =
            GrantedScopes::parse("zohobigin.settings.fields.read ZohoBigin.org.READ").unwrap();
        assert!(granted.allows(&RequiredScope::Settings {
            kind: "fields".into(),
            write: false
        }));
        assert!(!granted.allows(&RequiredScope::Settings {
            kind: "fields".into(),
            write: true
        }));
        assert!(!granted.allows(&RequiredScope::Settings {
            kind: "modules".into(),
            write: false
        }));
        assert!(granted.allows(&RequiredScope::Organization));
    }

    #[test]
    fn unknown_scopes_are_refused_by_name() {
        let error = GrantedScopes::parse("ZohoBigin.modules.ALL,ZohoCRM.modules.ALL").unwrap_err();
        assert!(error.to_string().contains("ZohoCRM.modules.ALL"));
        assert!(GrantedScopes::parse(" , ").is_err());
    }
}
