//! Field checks shared by the resources: every problem of a body is collected
//! so one 422 answer names every bad field.

use base64::Engine;
use shared::http::{ApiError, FieldProblem};

/// Decoded resume size limit (SPEC §4: up to 5 MB).
pub const MAX_RESUME_BYTES: usize = 5 * 1024 * 1024;
/// Longest accepted identifier from the caller's systems (`remote_id`, …).
pub const MAX_ID_CHARS: usize = 255;
/// Longest accepted short text (names, codes).
pub const MAX_TEXT_CHARS: usize = 1000;

/// The problems found so far in one request body.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldProblem>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldProblem::new(field, problem));
    }

    /// A required, non-blank text of at most `max` characters, trimmed.
    pub fn required(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None => {
                self.add(field, "is required");
                None
            }
            Some("") => {
                self.add(field, "must not be blank");
                None
            }
            Some(v) => self.bounded(field, v, max),
        }
    }

    /// An optional text of at most `max` characters, trimmed; blank reads as absent.
    pub fn optional(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        match value.map(str::trim) {
            None | Some("") => None,
            Some(v) => self.bounded(field, v, max),
        }
    }

    fn bounded(&mut self, field: &str, value: &str, max: usize) -> Option<String> {
        if value.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
            None
        } else {
            Some(value.to_owned())
        }
    }

    /// `Ok` when nothing was wrong, else the 422 answer naming every field.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }
}

/// Whether an email address is well formed (RFC 5322 syntax, with a dotted
/// domain as real mailboxes have).
pub fn is_email(value: &str) -> bool {
    email_address::EmailAddress::is_valid(value)
        && value
            .rsplit_once('@')
            .is_some_and(|(_, domain)| domain.contains('.') && !domain.ends_with('.'))
}

/// An absolute `http(s)` URL without whitespace.
pub fn is_http_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.chars().any(char::is_whitespace))
}

pub use shared::phone::{DEFAULT_PHONE_REGION, normalize_phone};

/// Resume formats accepted (SPEC §4): extension → content type.
const RESUME_TYPES: [(&str, &str); 4] = [
    ("pdf", "application/pdf"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("txt", "text/plain"),
];

/// A checked resume, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Checks a resume's name, type and data; problems are named under `resume.`.
pub fn resume(
    problems: &mut Problems,
    filename: Option<&str>,
    content_type: Option<&str>,
    data_base64: Option<&str>,
) -> Option<Resume> {
    let filename = problems.required("resume.filename", filename, MAX_TEXT_CHARS);
    let by_extension = filename.as_deref().and_then(|name| {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        RESUME_TYPES
            .iter()
            .find(|(e, _)| *e == ext)
            .map(|(_, ct)| *ct)
    });
    if filename.is_some() && by_extension.is_none() {
        problems.add("resume.filename", "must end in .pdf, .doc, .docx or .txt");
    }
    let declared = content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|ct| !ct.is_empty());
    let content_type = match (declared, by_extension) {
        (Some(ct), expected) => {
            if !RESUME_TYPES.iter().any(|(_, t)| *t == ct) {
                problems.add(
                    "resume.content_type",
                    "must be application/pdf, application/msword, \
                     application/vnd.openxmlformats-officedocument.wordprocessingml.document or text/plain",
                );
                None
            } else if expected.is_some_and(|e| e != ct) {
                problems.add(
                    "resume.content_type",
                    "does not match the file name's extension",
                );
                None
            } else {
                Some(ct)
            }
        }
        (None, expected) => expected.map(str::to_owned),
    };
    let bytes = match data_base64 {
        None => {
            problems.add("resume.data_base64", "is required");
            None
        }
        Some(data) => {
            let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                Err(_) => {
                    problems.add("resume.data_base64", "is not valid base64");
                    None
                }
                Ok(bytes) if bytes.is_empty() => {
                    problems.add("resume.data_base64", "must not be empty");
                    None
                }
                Ok(bytes) if bytes.len() > MAX_RESUME_BYTES => {
                    problems.add("resume.data_base64", "must decode to at most 5 MB");
                    None
                }
                Ok(bytes) => Some(bytes),
            }
        }
    };
    Some(Resume {
        filename: filename?,
        content_type: content_type?,
        bytes: bytes?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_us_number_has_no_country_code_then_it_is_read_in_the_default_region() {
        assert_eq!(
            normalize_phone("(415) 555-2671", None).as_deref(),
            Ok("+14155552671")
        );
        assert_eq!(
            normalize_phone("+44 20 7946 0958", Some("US")).as_deref(),
            Ok("+442079460958")
        );
    }

    #[test]
    fn when_the_org_sets_a_region_then_national_numbers_are_read_there() {
        assert_eq!(
            normalize_phone("020 7946 0958", Some("GB")).as_deref(),
            Ok("+442079460958")
        );
        assert_eq!(
            normalize_phone("030 123456", Some("de")).as_deref(),
            Ok("+4930123456")
        );
    }

    #[test]
    fn when_a_number_is_not_valid_then_it_is_refused() {
        assert!(normalize_phone("12", None).is_err());
        assert!(normalize_phone("call me", None).is_err());
        assert!(normalize_phone("(555) 555-5555", None).is_err());
    }

    #[test]
    fn emails_need_a_mailbox_and_a_dotted_domain() {
        assert!(is_email("ada@example.com"));
        assert!(!is_email("ada"));
        assert!(!is_email("ada@localhost"));
        assert!(!is_email("ada@@example.com"));
    }

    #[test]
    fn when_a_resume_is_a_pdf_then_it_is_decoded() {
        let mut problems = Problems::new();
        let r = resume(&mut problems, Some("cv.PDF"), None, Some("JVBERi0x\nLjQ="));
        assert!(problems.finish().is_ok());
        assert_eq!(
            r,
            Some(Resume {
                filename: "cv.PDF".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.4".to_vec(),
            })
        );
    }

    #[test]
    fn when_a_resume_is_of_another_kind_then_each_bad_field_is_named() {
        let mut problems = Problems::new();
        let r = resume(
            &mut problems,
            Some("cv.exe"),
            Some("image/png"),
            Some("***"),
        );
        assert_eq!(r, None);
        let fields: Vec<String> = problems
            .finish()
            .err()
            .map(|e| e.details.into_iter().map(|d| d.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "resume.filename",
                "resume.content_type",
                "resume.data_base64"
            ]
        );
    }

    #[test]
    fn when_the_content_type_contradicts_the_extension_then_it_is_refused() {
        let mut problems = Problems::new();
        let r = resume(
            &mut problems,
            Some("cv.txt"),
            Some("application/pdf"),
            Some("aGk="),
        );
        assert_eq!(r, None);
        assert!(problems.finish().is_err());
    }
}
