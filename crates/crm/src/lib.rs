//! The Bigin-compatible CRM's domain rules, independent of storage and HTTP: module and
//! field metadata, field-by-field validation of writes with Bigin's error codes, search
//! criteria, and record ids. Storage lives in `trestle-store`, the `/bigin/v2` routes in
//! `trestle-server`; both call into this crate so the rules exist in one place.

pub mod criteria;
pub mod error;
pub mod record_id;
pub mod schema;
pub mod scopes;
pub mod validate;

pub use criteria::{Criteria, CriteriaOperator, parse_criteria};
pub use error::{CrmError, RecordError};
pub use record_id::RecordIdGenerator;
pub use schema::{FieldDefinition, FieldType, ModuleDefinition, standard_modules};
pub use scopes::{GrantedScopes, Operation, RequiredScope};
pub use validate::{WriteMode, validate_record};
