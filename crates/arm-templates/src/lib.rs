//! The ARM template engine: pure functions from template text, parameters and a deployment
//! context to a plan of resource requests, with the results Azure's engine gives.
//!
//! Nothing here performs I/O, reads the clock or draws random numbers: the deployment runner
//! (which lives with the HTTP front end) supplies the time, a GUID seed and the scope in a
//! [`DeploymentContext`], sends the requests, and feeds back what it reads from deployed resources
//! through a [`DeployedState`]. That keeps the engine deterministic, testable without a server and
//! fuzzable (see `tests/fuzz.rs`).
//!
//! # How a runner drives it
//! 1. **Parse.** [`Template::parse`] reads the text as Azure does (comments, a byte-order mark,
//!    multi-line strings) and checks the structure. When the template arrives inside a request
//!    body (`az` sends the file text verbatim inside JSON), parse the body with [`jsonc::parse`] and
//!    hand the `properties.template` node to [`Template::from_node`]: positions in errors then count
//!    lines of the received body, as Azure's do. A `template` given as a JSON *string* is parsed
//!    with [`Template::parse`]. [`Template::scope`] is the scope `$schema` names; check it against the
//!    endpoint.
//! 2. **Prepare** (validate and the start of every deployment). [`Template::prepare`] with the
//!    context and the request's `parameters` (`{"name": {"value": …}}`) evaluates parameters
//!    (defaults, constraints), variables, and every resource instance's name, type, apiVersion,
//!    id, location, condition, copy membership and dependencies, and rejects dangling `dependsOn`,
//!    cycles and limit violations. The [`Plan`] it returns is `Send + Sync` and immutable.
//!    [`Plan::parameters_for_response`] renders `properties.parameters` without secure values;
//!    [`Plan::dependencies_for_response`] renders `properties.dependencies`;
//!    [`Plan::declared_resource_ids`] lists what a Complete-mode deployment keeps;
//!    [`Template::template_hash`] is the `templateHash`. [`Plan::preflight`] evaluates every body
//!    that does not read deployed state (validate and what-if), reporting invalid expressions as
//!    validation errors.
//! 3. **Run.** A [`Schedule`] over the plan answers which instances are ready (everything they
//!    depend on succeeded or was skipped). For each ready instance call
//!    [`Plan::evaluate_resource`] with the state read so far. It returns the PUT body, or
//!    [`EvaluationError::Pending`] with a [`RuntimeRequest`] (GET this resource at this
//!    api-version, or POST this `list*` action): do it, record the answer in the state
//!    ([`DeployedResources`] is a ready-made one) and evaluate again. `ResourceBody::deploy` is
//!    false when a condition that reads deployed state turned out false: mark it `Skipped`.
//!    `existing` instances are read (GET), not written. After a PUT finishes (its LRO included),
//!    store the resource's GET body in the state and call [`Schedule::finish`]; a failure blocks
//!    only the instances that depend on it, so independent ones go on, as in Azure.
//! 4. **Nested deployments** (`Microsoft.Resources/deployments` instances, described by
//!    [`ResourceInstance::nested_deployment`]): the evaluated body carries `properties.template`
//!    untouched (or a `templateLink` to fetch; [`template::resolve_relative_link`] resolves a
//!    `relativePath`). Create a real deployment at the target scope: for the inner scope
//!    `Template::prepare` with the evaluated `properties.parameters`; for the outer scope
//!    [`Template::prepare_outer`] with [`Plan::outer_scope`] of the parent. `reference()` to the
//!    nested deployment returns its `properties`, so store its GET body (with `outputs`) in the
//!    parent's state.
//! 5. **Outputs.** [`Plan::evaluate_outputs`] once every instance finished, with the same pending
//!    protocol; secure outputs are flagged so responses show `{type}` only.
//!
//! Errors are [`TemplateError`]s with Azure's code, message shape and the template position and
//! JSON path (relative to the template: prefix `properties.template.` for the body path of
//! `additionalInfo[].info.path`).
//!
//! ```
//! use arm_templates::{DeployedResources, DeploymentContext, EvaluationError, ResourceState, RuntimeRequest, Schedule, Template};
//! use serde_json::json;
//!
//! let text = r#"{
//!   // az sends the file text as it is, comments included
//!   "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
//!   "contentVersion": "1.0.0.0",
//!   "parameters": {"galleryName": {"type": "string"}},
//!   "resources": [
//!     {"type": "Microsoft.Compute/galleries", "apiVersion": "2022-03-03",
//!      "name": "[parameters('galleryName')]", "location": "[resourceGroup().location]"},
//!     {"type": "Microsoft.Compute/galleries/images", "apiVersion": "2022-03-03",
//!      "name": "[concat(parameters('galleryName'), '/image', copyIndex())]",
//!      "copy": {"name": "images", "count": 2},
//!      "location": "[resourceGroup().location]",
//!      "properties": {"description": "[reference(parameters('galleryName')).description]"}}
//!   ],
//!   "outputs": {"count": {"type": "int", "value": "[length(references('images'))]"}}
//! }"#;
//! let context = DeploymentContext::resource_group("sub", "rg", "westus", "deploy1", chrono::Utc::now());
//! let plan = Template::parse(text)?.prepare(&context, &json!({"galleryName": {"value": "g"}}))?;
//! assert_eq!(plan.resources().len(), 3);
//! assert_eq!(plan.resources()[1].depends_on, [0]); // implicit, from reference('g')
//!
//! let mut state = DeployedResources::new();
//! let mut schedule = Schedule::new(&plan);
//! while !schedule.is_finished() {
//!     for index in schedule.ready() {
//!         schedule.start(index);
//!         let body = loop {
//!             match plan.evaluate_resource(index, &state) {
//!                 Ok(body) => break body,
//!                 Err(EvaluationError::Pending(RuntimeRequest::Reference { resource_id, .. })) => {
//!                     // The runner GETs resource_id at the api-version; here: what was "deployed".
//!                     unreachable!("{resource_id} is deployed before its dependents")
//!                 }
//!                 Err(other) => panic!("{other:?}"),
//!             }
//!         };
//!         // The runner PUTs body.body through the router and follows the LRO; then it stores
//!         // the resource's GET body for later reference() calls.
//!         state.insert_resource(&body.resource_id, json!({"id": body.resource_id, "properties": {"description": "mine"}}));
//!         schedule.finish(index, ResourceState::Succeeded);
//!     }
//! }
//! let outputs = plan.evaluate_outputs(&state).expect("outputs");
//! assert_eq!(outputs[0].1.value, json!(2));
//! # Ok::<(), arm_templates::TemplateError>(())
//! ```
//!
//! # Known limits of the model
//! - An `outer`-scope nested template sees the parent's parameters, variables and scope
//!   functions, but not the parent's copy loop: `copyIndex()` inside it refers to its own loops.
//! - `providers()` (deprecated in Azure) answers the namespace and type with empty location and
//!   api-version lists: the engine has no provider registry.
//! - `pickZones` knows the public regions with availability zones from a built-in list.
//! - Properties whose value is `null` stay in the evaluated body as `null`; Azure treats them as
//!   absent, so the runner should drop them (or let the resource handlers ignore them).
//! - A resource whose condition is false is not evaluated by [`Schedule`]-driven runs; call
//!   [`Plan::evaluate_resource`] on it to surface errors Azure would report from its `reference()`.
//!
//! # Layout
//! - [`jsonc`]: Azure's lenient JSON reader with positions.
//! - [`expression`]: expression detection, tokens and syntax tree.
//! - `evaluator`, `functions`: evaluation and the built-in library, one module per family.
//! - [`template`]: the template model; [`plan`]: preparation, dependencies, schedule and
//!   deployment-time evaluation.
//! - [`hashing`]: `uniqueString`, `guid`, `templateHash`; [`ids`]: resource ids; [`limits`].

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

pub use context::{
    DeployedResources, DeployedState, DeploymentContext, DeploymentScope, NothingDeployed,
    ResourceGroupInfo, SubscriptionInfo,
};
pub use error::{ErrorCode, RuntimeRequest, TemplateError};
pub use plan::{
    Condition, CopyMembership, CopyMode, EvaluatedParameter, EvaluationError, ExpressionScope,
    NestedDeploymentTarget, OuterScope, OutputValue, Plan, ResourceBody, ResourceInstance,
    ResourceState, Schedule,
};
pub use template::Template;
