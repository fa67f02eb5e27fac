//! Module and field metadata: the standard Bigin modules with their standard fields, and
//! the custom fields and modules that organizations and toppings add. The same definitions
//! drive validation, `/settings/modules` and `/settings/fields`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::CrmError;

/// A field's type, named as Bigin's `data_type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Textarea,
    Email,
    Phone,
    Website,
    Picklist,
    Multiselectpicklist,
    Date,
    Datetime,
    Integer,
    Bigint,
    Double,
    Decimal,
    Currency,
    Boolean,
    Lookup,
    Ownerlookup,
    /// Tags: `[{"name":"VIP"}]` on write, `[{"name","id","color_code"}]` on read.
    Tag,
}

impl FieldType {
    /// Bigin's `data_type` string.
    pub fn data_type(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Textarea => "textarea",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Website => "website",
            FieldType::Picklist => "picklist",
            FieldType::Multiselectpicklist => "multiselectpicklist",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Integer => "integer",
            FieldType::Bigint => "bigint",
            FieldType::Double => "double",
            FieldType::Decimal => "decimal",
            FieldType::Currency => "currency",
            FieldType::Boolean => "boolean",
            FieldType::Lookup => "lookup",
            FieldType::Ownerlookup => "ownerlookup",
            FieldType::Tag => "tag",
        }
    }

    /// Bigin's `json_type` string.
    pub fn json_type(self) -> &'static str {
        match self {
            FieldType::Integer | FieldType::Bigint => "integer",
            FieldType::Double | FieldType::Decimal | FieldType::Currency => "double",
            FieldType::Boolean => "boolean",
            FieldType::Lookup | FieldType::Ownerlookup => "jsonobject",
            FieldType::Multiselectpicklist | FieldType::Tag => "jsonarray",
            _ => "string",
        }
    }

    /// The default maximum length of text-like fields, as Bigin's field metadata reports.
    pub fn default_length(self) -> Option<usize> {
        match self {
            FieldType::Text | FieldType::Phone | FieldType::Website => Some(255),
            FieldType::Email => Some(100),
            FieldType::Textarea => Some(32_000),
            FieldType::Integer => Some(9),
            FieldType::Bigint => Some(18),
            FieldType::Double | FieldType::Decimal | FieldType::Currency => Some(16),
            _ => None,
        }
    }

    fn from_data_type(text: &str) -> Option<FieldType> {
        serde_json::from_value(Value::from(text)).ok()
    }
}

/// One field of a module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDefinition {
    pub api_name: String,
    pub field_label: String,
    pub data_type: FieldType,
    pub length: Option<usize>,
    /// The field must be present and non-empty on insert.
    pub system_mandatory: bool,
    /// The server maintains the value; writes of it are ignored.
    pub read_only: bool,
    pub custom_field: bool,
    /// Values must be unique within the module (case-insensitive for text).
    pub unique: bool,
    pub pick_list_values: Vec<String>,
    /// For lookups: the module the id points at.
    pub lookup_module: Option<String>,
}

/// One module (Contacts, Accounts, ... or a custom module).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleDefinition {
    pub api_name: String,
    pub singular_label: String,
    pub plural_label: String,
    pub custom_module: bool,
    /// Fields used by upsert when the request names none.
    pub duplicate_check_fields: Vec<String>,
    /// The field shown as a lookup's `name`.
    pub display_field: String,
    pub fields: Vec<FieldDefinition>,
}

impl ModuleDefinition {
    /// The field with this API name (case-sensitive, as Bigin's API names are).
    pub fn field(&self, api_name: &str) -> Option<&FieldDefinition> {
        self.fields.iter().find(|field| field.api_name == api_name)
    }

    /// `/settings/modules` item.
    pub fn to_module_metadata(&self, module_id: &str) -> Value {
        json!({
            "id": module_id,
            "api_name": self.api_name,
            "module_name": self.api_name,
            "singular_label": self.singular_label,
            "plural_label": self.plural_label,
            "api_supported": true,
            "creatable": true,
            "editable": true,
            "deletable": true,
            "viewable": true,
            "generated_type": if self.custom_module { "custom" } else { "default" },
        })
    }
}

impl FieldDefinition {
    /// `/settings/fields` item.
    pub fn to_field_metadata(&self, field_id: &str) -> Value {
        let lookup = match &self.lookup_module {
            Some(module) => json!({ "module": { "api_name": module } }),
            None => json!({}),
        };
        let pick_list_values: Vec<Value> = self
            .pick_list_values
            .iter()
            .map(|value| json!({ "display_value": value, "actual_value": value }))
            .collect();
        json!({
            "id": field_id,
            "api_name": self.api_name,
            "field_label": self.field_label,
            "display_label": self.field_label,
            "data_type": self.data_type.data_type(),
            "json_type": self.data_type.json_type(),
            "length": self.length,
            "system_mandatory": self.system_mandatory,
            "read_only": self.read_only,
            "field_read_only": self.read_only,
            "custom_field": self.custom_field,
            "visible": true,
            "unique": if self.unique { json!({ "casesensitive": "false" }) } else { json!({}) },
            "lookup": lookup,
            "pick_list_values": pick_list_values,
        })
    }
}

/// A request to add a custom field, as `POST /settings/fields?module=` receives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldInput {
    pub api_name: Option<String>,
    pub field_label: String,
    pub data_type: String,
    pub length: Option<usize>,
    #[serde(default)]
    pub pick_list_values: Vec<String>,
    pub lookup_module: Option<String>,
    #[serde(default)]
    pub unique: bool,
}

impl CustomFieldInput {
    /// Validates the input into a definition. `namespace` is the topping namespace when a
    /// topping creates the field: its API name then carries the `namespace__` prefix.
    pub fn into_definition(
        self,
        module: &ModuleDefinition,
        namespace: Option<&str>,
    ) -> Result<FieldDefinition, CrmError> {
        let data_type = FieldType::from_data_type(&self.data_type)
            .filter(|data_type| !matches!(data_type, FieldType::Ownerlookup | FieldType::Tag))
            .ok_or_else(|| CrmError::InvalidDefinition {
                message: format!(
                    "data_type \"{}\" is not one of text, textarea, email, phone, website, \
                     picklist, multiselectpicklist, date, datetime, integer, bigint, double, \
                     decimal, currency, boolean, lookup",
                    self.data_type
                ),
                api_name: "data_type".into(),
            })?;
        let label = self.field_label.trim();
        if label.is_empty() || label.chars().count() > 50 {
            return Err(CrmError::InvalidDefinition {
                message: "field_label must have 1 to 50 characters".into(),
                api_name: "field_label".into(),
            });
        }
        let base_name = match self.api_name {
            Some(name) => name,
            None => api_name_from_label(label),
        };
        let api_name = match namespace {
            Some(namespace) if !base_name.starts_with(&format!("{namespace}__")) => {
                format!("{namespace}__{base_name}")
            }
            _ => base_name,
        };
        validate_api_name(&api_name, "api_name")?;
        if module.field(&api_name).is_some() {
            return Err(CrmError::DuplicateDefinition { api_name });
        }
        if matches!(
            data_type,
            FieldType::Picklist | FieldType::Multiselectpicklist
        ) && self.pick_list_values.is_empty()
        {
            return Err(CrmError::InvalidDefinition {
                message: "a picklist needs at least one value in pick_list_values".into(),
                api_name: "pick_list_values".into(),
            });
        }
        if data_type == FieldType::Lookup && self.lookup_module.is_none() {
            return Err(CrmError::InvalidDefinition {
                message:
                    "a lookup field needs lookup_module, the API name of the module it points at"
                        .into(),
                api_name: "lookup_module".into(),
            });
        }
        let length = match (self.length, data_type.default_length()) {
            (Some(length), Some(maximum)) if length == 0 || length > maximum => {
                return Err(CrmError::InvalidDefinition {
                    message: format!(
                        "length must be between 1 and {maximum} for {}",
                        self.data_type
                    ),
                    api_name: "length".into(),
                });
            }
            (Some(length), Some(_)) => Some(length),
            (_, default) => default,
        };
        Ok(FieldDefinition {
            api_name,
            field_label: label.to_string(),
            data_type,
            length,
            system_mandatory: false,
            read_only: false,
            custom_field: true,
            unique: self.unique,
            pick_list_values: self.pick_list_values,
            lookup_module: self.lookup_module,
        })
    }
}

/// A request to add a custom module.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomModuleInput {
    pub api_name: Option<String>,
    pub singular_label: String,
    pub plural_label: String,
}

impl CustomModuleInput {
    /// Validates the input into a module with a mandatory `Name` field, the system fields
    /// every module has, and the topping's namespace prefix when `namespace` is given.
    pub fn into_definition(
        self,
        existing_modules: &[ModuleDefinition],
        namespace: Option<&str>,
    ) -> Result<ModuleDefinition, CrmError> {
        let plural = self.plural_label.trim();
        let singular = self.singular_label.trim();
        if plural.is_empty() || singular.is_empty() || plural.len() > 25 || singular.len() > 25 {
            return Err(CrmError::InvalidDefinition {
                message: "singular_label and plural_label must have 1 to 25 characters".into(),
                api_name: "plural_label".into(),
            });
        }
        let base_name = match self.api_name {
            Some(name) => name,
            None => api_name_from_label(plural),
        };
        let api_name = match namespace {
            Some(namespace) if !base_name.starts_with(&format!("{namespace}__")) => {
                format!("{namespace}__{base_name}")
            }
            _ => base_name,
        };
        validate_api_name(&api_name, "api_name")?;
        if existing_modules
            .iter()
            .any(|module| module.api_name.eq_ignore_ascii_case(&api_name))
        {
            return Err(CrmError::DuplicateDefinition { api_name });
        }
        let mut fields = vec![field("Name", "Name", FieldType::Text).mandatory()];
        fields.extend(system_fields());
        Ok(ModuleDefinition {
            api_name,
            singular_label: singular.to_string(),
            plural_label: plural.to_string(),
            custom_module: true,
            duplicate_check_fields: Vec::new(),
            display_field: "Name".into(),
            fields: fields.into_iter().map(FieldBuilder::build).collect(),
        })
    }
}

/// The standard modules every organization starts with.
pub fn standard_modules() -> Vec<ModuleDefinition> {
    vec![
        contacts_module(),
        accounts_module(),
        pipelines_module(),
        products_module(),
        tasks_module(),
        events_module(),
        calls_module(),
        notes_module(),
    ]
}

fn validate_api_name(api_name: &str, field_name: &str) -> Result<(), CrmError> {
    let valid_characters = api_name
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_');
    let starts_with_letter = api_name
        .chars()
        .next()
        .is_some_and(|character| character.is_ascii_alphabetic());
    if !valid_characters || !starts_with_letter || api_name.len() > 100 {
        return Err(CrmError::InvalidDefinition {
            message: format!(
                "api name \"{api_name}\" must start with a letter and use only letters, digits \
                 and underscores (at most 100)"
            ),
            api_name: field_name.into(),
        });
    }
    Ok(())
}

fn api_name_from_label(label: &str) -> String {
    let mut name = String::new();
    for word in label.split(|character: char| !character.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if !name.is_empty() {
            name.push('_');
        }
        name.push_str(word);
    }
    name
}

struct FieldBuilder(FieldDefinition);

fn field(api_name: &str, label: &str, data_type: FieldType) -> FieldBuilder {
    FieldBuilder(FieldDefinition {
        api_name: api_name.into(),
        field_label: label.into(),
        data_type,
        length: data_type.default_length(),
        system_mandatory: false,
        read_only: false,
        custom_field: false,
        unique: false,
        pick_list_values: Vec::new(),
        lookup_module: None,
    })
}

impl FieldBuilder {
    fn mandatory(mut self) -> Self {
        self.0.system_mandatory = true;
        self
    }
    fn read_only(mut self) -> Self {
        self.0.read_only = true;
        self
    }
    fn unique(mut self) -> Self {
        self.0.unique = true;
        self
    }
    fn length(mut self, length: usize) -> Self {
        self.0.length = Some(length);
        self
    }
    fn picklist(mut self, values: &[&str]) -> Self {
        self.0.pick_list_values = values.iter().map(|value| value.to_string()).collect();
        self
    }
    fn lookup(mut self, module: &str) -> Self {
        self.0.lookup_module = Some(module.into());
        self
    }
    fn build(self) -> FieldDefinition {
        self.0
    }
}

/// Fields the server maintains on every module.
fn system_fields() -> Vec<FieldBuilder> {
    vec![
        field("Owner", "Owner", FieldType::Ownerlookup),
        field("Tag", "Tag", FieldType::Tag),
        field("Created_By", "Created By", FieldType::Ownerlookup).read_only(),
        field("Modified_By", "Modified By", FieldType::Ownerlookup).read_only(),
        field("Created_Time", "Created Time", FieldType::Datetime).read_only(),
        field("Modified_Time", "Modified Time", FieldType::Datetime).read_only(),
    ]
}

fn module(
    api_name: &str,
    singular: &str,
    plural: &str,
    display_field: &str,
    duplicate_check_fields: &[&str],
    mut fields: Vec<FieldBuilder>,
) -> ModuleDefinition {
    fields.extend(system_fields());
    ModuleDefinition {
        api_name: api_name.into(),
        singular_label: singular.into(),
        plural_label: plural.into(),
        custom_module: false,
        duplicate_check_fields: duplicate_check_fields
            .iter()
            .map(|name| name.to_string())
            .collect(),
        display_field: display_field.into(),
        fields: fields.into_iter().map(FieldBuilder::build).collect(),
    }
}

fn contacts_module() -> ModuleDefinition {
    use FieldType::*;
    module(
        "Contacts",
        "Contact",
        "Contacts",
        "Full_Name",
        &["Email"],
        vec![
            field("First_Name", "First Name", Text).length(40),
            field("Last_Name", "Last Name", Text).length(80).mandatory(),
            field("Full_Name", "Full Name", Text).read_only(),
            field("Salutation", "Salutation", Picklist)
                .picklist(&["-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]),
            field("Title", "Title", Text).length(100),
            field("Department", "Department", Text).length(100),
            field("Email", "Email", Email).unique(),
            field("Secondary_Email", "Secondary Email", Email),
            field("Phone", "Phone", Phone).length(50),
            field("Mobile", "Mobile", Phone).length(50),
            field("Home_Phone", "Home Phone", Phone).length(50),
            field("Other_Phone", "Other Phone", Phone).length(50),
            field("Fax", "Fax", Phone).length(50),
            field("Asst_Phone", "Asst Phone", Phone).length(50),
            field("Assistant", "Assistant", Text).length(100),
            field("Account_Name", "Company Name", Lookup).lookup("Accounts"),
            field("Reporting_To", "Reporting To", Lookup).lookup("Contacts"),
            field("Lead_Source", "Lead Source", Picklist).picklist(&[
                "-None-",
                "Advertisement",
                "Cold Call",
                "Employee Referral",
                "External Referral",
                "Online Store",
                "Partner",
                "Public Relations",
                "Trade Show",
                "Web Download",
                "Web Research",
                "Chat",
            ]),
            field("Date_of_Birth", "Date of Birth", Date),
            field("Description", "Description", Textarea),
            field("Mailing_Street", "Mailing Street", Text).length(250),
            field("Mailing_City", "Mailing City", Text).length(100),
            field("Mailing_State", "Mailing State", Text).length(100),
            field("Mailing_Zip", "Mailing Zip", Text).length(30),
            field("Mailing_Country", "Mailing Country", Text).length(100),
            field("Other_Street", "Other Street", Text).length(250),
            field("Other_City", "Other City", Text).length(100),
            field("Other_State", "Other State", Text).length(100),
            field("Other_Zip", "Other Zip", Text).length(30),
            field("Other_Country", "Other Country", Text).length(100),
            field("Email_Opt_Out", "Email Opt Out", Boolean),
            field("Twitter", "Twitter", Text).length(50),
            field("Skype_ID", "Skype ID", Text).length(50),
            field("Last_Activity_Time", "Last Activity Time", Datetime).read_only(),
        ],
    )
}

fn accounts_module() -> ModuleDefinition {
    use FieldType::*;
    module(
        "Accounts",
        "Company",
        "Companies",
        "Account_Name",
        &["Account_Name"],
        vec![
            field("Account_Name", "Company Name", Text)
                .length(200)
                .mandatory()
                .unique(),
            field("Phone", "Phone", Phone).length(50),
            field("Website", "Website", Website),
            field("Billing_Street", "Billing Street", Text).length(250),
            field("Billing_City", "Billing City", Text).length(100),
            field("Billing_State", "Billing State", Text).length(100),
            field("Billing_Code", "Billing Code", Text).length(30),
            field("Billing_Country", "Billing Country", Text).length(100),
            field("Description", "Description", Textarea),
        ],
    )
}

fn pipelines_module() -> ModuleDefinition {
    use FieldType::*;
    module(
        "Pipelines",
        "Pipeline",
        "Pipelines",
        "Deal_Name",
        &[],
        vec![
            field("Deal_Name", "Deal Name", Text)
                .length(120)
                .mandatory(),
            field("Sub_Pipeline", "Sub-Pipeline", Picklist)
                .mandatory()
                .picklist(&["Sales Pipeline Standard"]),
            field("Stage", "Stage", Picklist).mandatory().picklist(&[
                "Qualification",
                "Needs Analysis",
                "Proposal/Price Quote",
                "Negotiation/Review",
                "Closed Won",
                "Closed Lost",
            ]),
            field("Amount", "Amount", Currency),
            field("Closing_Date", "Closing Date", Date),
            field("Account_Name", "Company Name", Lookup).lookup("Accounts"),
            field("Contact_Name", "Contact Name", Lookup).lookup("Contacts"),
            field("Description", "Description", Textarea),
        ],
    )
}

fn products_module() -> ModuleDefinition {
    use FieldType::*;
    module(
        "Products",
        "Product",
        "Products",
        "Product_Name",
        &["Product_Name"],
        vec![
            field("Product_Name", "Product Name", Text)
                .length(200)
                .mandatory()
                .unique(),
            field("Product_Code", "Product Code", Text).length(100),
            field("Unit_Price", "Unit Price", Currency),
            field("Product_Active", "Product Active", Boolean),
            field("Product_Category", "Product Category", Picklist)
                .picklist(&["-None-", "Hardware", "Software", "Services"]),
            field("Description", "Description", Textarea),
        ],
    )
}

fn tasks_module() -> ModuleDefinition {
    use FieldType::*;
    module(
        "Tasks",
        "Task",
        "Tasks",
        "Subject",
        &[],
        vec![
            field("Subject", "Subject", Text).length(255).mandatory(),
            field("Due_Date", "Due Date", Date),
            field("Status", "Status", Picklist).picklist(&[
                "Not Started",
                "Deferred",
                "In Progress",
                "Completed",
                "Waiting for input",
            ]),
            field("Priority", "Priority", Picklist)
                .picklist(&["High", "Highest", "Low", "Lowest", "Normal"]),
            field("Related_To", "Related To", Lookup).lookup("Contacts"),
            field("Description", "Description", Textarea),
        ],
    )
}

fn events_module() -> ModuleDefinition {
    use FieldType::*;
    module(
        "Events",
        "Event",
        "Events",
        "Event_Title",
        &[],
        vec![
            field("Event_Title", "Title", Text).length(255).mandatory(),
            field("Start_DateTime", "From", Datetime).mandatory(),
            field("End_DateTime", "To", Datetime).mandatory(),
            field("All_day", "All day", Boolean),
            field("Venue", "Venue", Text).length(255),
            field("Related_To", "Related To", Lookup).lookup("Contacts"),
            field("Description", "Description", Textarea),
        ],
    )
}

fn calls_module() -> ModuleDefinition {
    use FieldType::*;
    module(
        "Calls",
        "Call",
        "Calls",
        "Subject",
        &[],
        vec![
            field("Subject", "Subject", Text).length(255).mandatory(),
            field("Call_Type", "Call Type", Picklist)
                .mandatory()
                .picklist(&["Outbound", "Inbound", "Missed"]),
            field("Call_Start_Time", "Call Start Time", Datetime).mandatory(),
            field("Call_Duration", "Call Duration", Text)
                .length(10)
                .mandatory(),
            field("Related_To", "Related To", Lookup).lookup("Contacts"),
            field("Description", "Description", Textarea),
        ],
    )
}

fn notes_module() -> ModuleDefinition {
    use FieldType::*;
    module(
        "Notes",
        "Note",
        "Notes",
        "Note_Title",
        &[],
        vec![
            field("Note_Title", "Note Title", Text).length(120),
            field("Note_Content", "Note Content", Textarea).mandatory(),
            // The parent's module travels in `$se_module`; the id may point at any module.
            field("Parent_Id", "Parent Id", Lookup).mandatory(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_module_has_unique_field_names_and_a_mandatory_field() {
        for module in standard_modules() {
            let mut names: Vec<&str> = module.fields.iter().map(|f| f.api_name.as_str()).collect();
            let count = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), count, "duplicate field in {}", module.api_name);
            assert!(
                module.fields.iter().any(|f| f.system_mandatory),
                "{}",
                module.api_name
            );
            assert!(
                module.field(&module.display_field).is_some(),
                "{}",
                module.api_name
            );
            for name in &module.duplicate_check_fields {
                assert!(module.field(name).is_some_and(|f| f.unique), "{name}");
            }
        }
    }

    #[test]
    fn custom_field_from_a_topping_gets_the_namespace_prefix() {
        let contacts = contacts_module();
        let input = CustomFieldInput {
            api_name: None,
            field_label: "Loyalty Tier".into(),
            data_type: "picklist".into(),
            length: None,
            pick_list_values: vec!["Gold".into(), "Silver".into()],
            lookup_module: None,
            unique: false,
        };
        let definition = input.into_definition(&contacts, Some("loyalty")).unwrap();
        assert_eq!(definition.api_name, "loyalty__Loyalty_Tier");
        assert!(definition.custom_field);
    }

    #[test]
    fn custom_field_errors_name_the_offending_input() {
        let contacts = contacts_module();
        let bad_type = CustomFieldInput {
            api_name: Some("Score".into()),
            field_label: "Score".into(),
            data_type: "float".into(),
            length: None,
            pick_list_values: vec![],
            lookup_module: None,
            unique: false,
        };
        let error = bad_type.into_definition(&contacts, None).unwrap_err();
        assert_eq!(error.details()["api_name"], "data_type");
        let duplicate = CustomFieldInput {
            api_name: Some("Email".into()),
            field_label: "Email".into(),
            data_type: "email".into(),
            length: None,
            pick_list_values: vec![],
            lookup_module: None,
            unique: false,
        };
        assert_eq!(
            duplicate
                .into_definition(&contacts, None)
                .unwrap_err()
                .code(),
            "DUPLICATE_DATA"
        );
    }

    #[test]
    fn custom_module_has_name_and_system_fields() {
        let input = CustomModuleInput {
            api_name: None,
            singular_label: "Shipment".into(),
            plural_label: "Shipments".into(),
        };
        let module = input
            .into_definition(&standard_modules(), Some("ship"))
            .unwrap();
        assert_eq!(module.api_name, "ship__Shipments");
        assert!(module.field("Name").unwrap().system_mandatory);
        assert!(module.field("Created_Time").unwrap().read_only);
        let again = CustomModuleInput {
            api_name: Some("Contacts".into()),
            singular_label: "Contact".into(),
            plural_label: "Contacts".into(),
        };
        assert_eq!(
            again
                .into_definition(&standard_modules(), None)
                .unwrap_err()
                .code(),
            "DUPLICATE_DATA"
        );
    }
}
