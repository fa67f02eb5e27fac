//! The built-in catalog of default services, embedded from `catalog/*.toml`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::definition::{ServiceDefinition, ServiceOrigin, SettingChoice};
use crate::error::ServicesError;

include!(concat!(env!("OUT_DIR"), "/catalog_files.rs"));

/// A set of service definitions, sorted by key.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    services: Vec<ServiceDefinition>,
    load_errors: Vec<String>,
}

/// A shared list of choices (`catalog/choices/<name>.toml`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ChoiceSetFile {
    description: String,
    choices: Vec<SettingChoice>,
}

/// One line of `trestle services list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// Service key.
    pub key: String,
    /// Display name.
    pub display_name: String,
    /// Category.
    pub category: String,
    /// Auth type name.
    pub auth_type: &'static str,
}

impl Catalog {
    /// The catalog shipped in the binary. Loaded once. A file that fails to load is left out and
    /// reported by [`Catalog::load_errors`] (the catalog test asserts there are none).
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| Catalog::from_files(CATALOG_FILES, CHOICE_SET_FILES))
    }

    /// Builds a catalog from (file name, TOML text) pairs and shared choice sets, skipping and
    /// recording files that do not parse or validate.
    pub fn from_files(
        service_files: &[(&str, &str)],
        choice_set_files: &[(&str, &str)],
    ) -> Catalog {
        let mut load_errors = Vec::new();
        let mut choice_sets: BTreeMap<String, Vec<SettingChoice>> = BTreeMap::new();
        for (file, text) in choice_set_files {
            match toml::from_str::<ChoiceSetFile>(text) {
                Ok(set) => {
                    choice_sets.insert(file.trim_end_matches(".toml").to_owned(), set.choices);
                }
                Err(error) => load_errors.push(format!("choices/{file}: {error}")),
            }
        }
        let mut services: Vec<ServiceDefinition> = Vec::new();
        for (file, text) in service_files {
            let definition = parse_definition(file, text, &choice_sets).and_then(|definition| {
                definition.validate().map(|()| definition).map_err(|error| {
                    ServicesError::CatalogFile {
                        file: (*file).to_owned(),
                        reason: error.to_string(),
                    }
                })
            });
            match definition {
                Ok(definition)
                    if services
                        .iter()
                        .any(|existing| existing.key == definition.key) =>
                {
                    load_errors.push(format!(
                        "{file}: {}",
                        ServicesError::DuplicateServiceKey {
                            key: definition.key
                        }
                    ));
                }
                Ok(definition) => services.push(definition),
                Err(error) => load_errors.push(error.to_string()),
            }
        }
        services.sort_by(|left, right| left.key.cmp(&right.key));
        Catalog {
            services,
            load_errors,
        }
    }

    /// A catalog of the given definitions (e.g. built-in plus an organisation's custom services).
    /// Fails on a duplicate key.
    pub fn from_definitions(definitions: Vec<ServiceDefinition>) -> Result<Catalog, ServicesError> {
        let mut services: Vec<ServiceDefinition> = Vec::with_capacity(definitions.len());
        for definition in definitions {
            if services
                .iter()
                .any(|existing| existing.key == definition.key)
            {
                return Err(ServicesError::DuplicateServiceKey {
                    key: definition.key,
                });
            }
            services.push(definition);
        }
        services.sort_by(|left, right| left.key.cmp(&right.key));
        Ok(Catalog {
            services,
            load_errors: Vec::new(),
        })
    }

    /// A service by key.
    pub fn get(&self, key: &str) -> Option<&ServiceDefinition> {
        self.services
            .binary_search_by(|service| service.key.as_str().cmp(key))
            .ok()
            .and_then(|index| self.services.get(index))
    }

    /// A service by key, or `SERVICE_NOT_FOUND`.
    pub fn require(&self, key: &str) -> Result<&ServiceDefinition, ServicesError> {
        self.get(key).ok_or_else(|| ServicesError::ServiceNotFound {
            key: key.to_owned(),
        })
    }

    /// Every service, sorted by key.
    pub fn list(&self) -> &[ServiceDefinition] {
        &self.services
    }

    /// Key, display name, category and auth type of every service, sorted by key.
    pub fn entries(&self) -> Vec<CatalogEntry> {
        self.services
            .iter()
            .map(|service| CatalogEntry {
                key: service.key.clone(),
                display_name: service.display_name.clone(),
                category: service.category.clone(),
                auth_type: service.auth_type.as_str(),
            })
            .collect()
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// True when there are no services.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Files that failed to load (file name and reason).
    pub fn load_errors(&self) -> &[String] {
        &self.load_errors
    }
}

/// The shared choice sets shipped in the binary (`zoho_data_centres`, ...), by name.
pub fn builtin_choice_sets() -> BTreeMap<String, Vec<SettingChoice>> {
    CHOICE_SET_FILES
        .iter()
        .filter_map(|(file, text)| {
            toml::from_str::<ChoiceSetFile>(text)
                .ok()
                .map(|set| (file.trim_end_matches(".toml").to_owned(), set.choices))
        })
        .collect()
}

/// Parses one definition from TOML and expands `choices_from` references.
pub fn parse_definition(
    file: &str,
    text: &str,
    choice_sets: &BTreeMap<String, Vec<SettingChoice>>,
) -> Result<ServiceDefinition, ServicesError> {
    let mut definition: ServiceDefinition =
        toml::from_str(text).map_err(|error| ServicesError::CatalogFile {
            file: file.to_owned(),
            reason: error.to_string(),
        })?;
    expand_choice_sets(&mut definition, choice_sets).map_err(|reason| {
        ServicesError::CatalogFile {
            file: file.to_owned(),
            reason,
        }
    })?;
    if definition.origin != ServiceOrigin::Builtin {
        return Err(ServicesError::CatalogFile {
            file: file.to_owned(),
            reason: "catalog files must not set `origin`".to_owned(),
        });
    }
    Ok(definition)
}

/// Replaces every `choices_from = "<set>"` with the set's options.
pub(crate) fn expand_choice_sets(
    definition: &mut ServiceDefinition,
    choice_sets: &BTreeMap<String, Vec<SettingChoice>>,
) -> Result<(), String> {
    for setting in &mut definition.settings {
        if let Some(set_name) = setting.choices_from.take() {
            let choices = choice_sets.get(&set_name).ok_or_else(|| {
                format!(
                    "setting `{}` refers to choice set `{set_name}`, which does not exist (known: {})",
                    setting.name,
                    choice_sets.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
            setting.choices.extend(choices.iter().cloned());
        }
    }
    Ok(())
}
