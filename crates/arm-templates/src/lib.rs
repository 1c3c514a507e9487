//! ARM template engine (work in progress).

pub mod context;
pub mod error;
pub(crate) mod evaluator;
pub mod expression;
pub(crate) mod functions;
pub mod hashing;
pub mod ids;
pub mod jsonc;
pub mod limits;
pub mod plan;
pub mod template;
pub(crate) mod value;

pub use context::{DeployedResources, DeployedState, DeploymentContext, DeploymentScope, NothingDeployed, ResourceGroupInfo, SubscriptionInfo};
pub use error::{ErrorCode, RuntimeRequest, TemplateError};
pub use plan::{Condition, CopyMembership, CopyMode, EvaluatedParameter, EvaluationError, ExpressionScope, NestedDeploymentTarget, OuterScope, OutputValue, Plan, ResourceBody, ResourceInstance, ResourceState, Schedule};
pub use template::Template;
