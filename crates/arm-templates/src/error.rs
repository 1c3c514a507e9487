//! The engine's errors, in Azure's vocabulary.
//!
//! Every failure the engine reports is a [`TemplateError`]: an ARM error code, Azure's message text
//! (with the `Deployment template validation failed: '…'` or `Unable to process template language
//! expressions …` framing where Azure uses one), and the line, column and JSON path of the template
//! text it concerns, which the runner turns into `additionalInfo[{type:"TemplateViolation"}]`.
//! Inside the evaluator a failure is a [`Failure`]: either a plain detail message that the caller
//! frames, or a request for a runtime value the runner has not read yet.

use crate::jsonc::Position;
use std::fmt;

/// ARM error codes the engine produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The template or a value in it is not valid (parse, validation and evaluation failures).
    InvalidTemplate,
    /// The deployment as a whole is not valid (for example a parameter reference to Key Vault).
    InvalidTemplateDeployment,
    /// The request body is not JSON Azure can read.
    InvalidRequestContent,
    /// A parameter supplied as a Key Vault reference, which galleryd cannot resolve.
    InvalidDeploymentParameterKeyVaultReference,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidTemplate => "InvalidTemplate",
            ErrorCode::InvalidTemplateDeployment => "InvalidTemplateDeployment",
            ErrorCode::InvalidRequestContent => "InvalidRequestContent",
            ErrorCode::InvalidDeploymentParameterKeyVaultReference => {
                "InvalidDeploymentParameterKeyVaultReference"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// An error with Azure's code and message and the template position it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub code: ErrorCode,
    pub message: String,
    /// Line and column in the received text; 0/0 where Azure gives none.
    pub position: Position,
    /// JSON path inside the template (`resources[1].dependsOn[0]`), empty where unknown.
    pub path: String,
}

impl TemplateError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        TemplateError {
            code,
            message: message.into(),
            position: Position::default(),
            path: String::new(),
        }
    }

    pub(crate) fn at(mut self, position: Position) -> Self {
        self.position = position;
        self
    }

    pub(crate) fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// `Deployment template validation failed: '<detail>'.` at `position`.
    pub(crate) fn validation(detail: impl AsRef<str>, position: Position) -> Self {
        TemplateError::new(
            ErrorCode::InvalidTemplate,
            format!(
                "Deployment template validation failed: '{}'.",
                detail.as_ref()
            ),
        )
        .at(position)
    }

    /// `Deployment template language expression evaluation failed: '<detail>'. Please see …`.
    pub(crate) fn expression(detail: impl AsRef<str>, position: Position) -> Self {
        TemplateError::new(
            ErrorCode::InvalidTemplate,
            format!(
                "Deployment template language expression evaluation failed: '{}'. Please see https://aka.ms/arm-template-expressions for usage details.",
                detail.as_ref()
            ),
        )
        .at(position)
    }

    /// The runtime framing of an expression failure inside one resource.
    pub(crate) fn runtime(resource_id: &str, position: Position, detail: &str) -> Self {
        TemplateError::new(
            ErrorCode::InvalidTemplate,
            format!(
                "Unable to process template language expressions for resource '{resource_id}' at line '{}' and column '{}'. '{detail}'",
                position.line, position.column
            ),
        )
        .at(position)
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// A value a resource's evaluation needs from the deployed world before it can finish.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuntimeRequest {
    /// `reference(id, apiVersion, ['Full'])`: GET the resource at `api_version`.
    Reference {
        resource_id: String,
        api_version: String,
        full: bool,
    },
    /// `list*(id, apiVersion, [body])`: POST `{resource_id}/{action}` with `body`.
    List {
        resource_id: String,
        action: String,
        api_version: String,
        body: Option<String>,
    },
}

/// Why an evaluation stopped inside the evaluator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// The detail text of an invalid expression (`The template function 'x' is not valid.`).
    Invalid(String),
    /// A runtime value is needed first.
    Pending(RuntimeRequest),
}

pub(crate) type EvalResult<T> = Result<T, Failure>;

pub(crate) fn invalid<T>(message: impl Into<String>) -> EvalResult<T> {
    Err(Failure::Invalid(message.into()))
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Invalid(message)
    }
}
