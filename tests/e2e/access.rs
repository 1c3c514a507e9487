//! Access control end to end: role assignments and role definitions (Microsoft.Authorization), the
//! authorization of every ARM request with Azure's 403 body, the sharing matrix (a role on a gallery
//! reaches its definitions; a role on a definition reaches only that definition), lists with partial
//! access, `GET /subscriptions` showing only what the caller holds a role in, and the development
//! user's zero-setup ownership.

use gallery_domain::authorization::roles::{CONTRIBUTOR, OWNER, READER};
use galleryd_tests::{AUTHORIZATION_API, TestApp, TestResponse, both_stores, user_token};
use reqwest::Method;
use serde_json::json;

const ANN: &str = "a0a0a0a0-0000-4000-8000-00000000000a";
const BOB: &str = "b0b0b0b0-0000-4000-8000-00000000000b";
const CAROL: &str = "c0c0c0c0-0000-4000-8000-00000000000c";

fn assignment_path(scope: &str, name: &str) -> String {
    format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHORIZATION_API}"
    )
}

fn assignment_body(
    subscription: &str,
    role: &str,
    principal: &str,
    principal_type: Option<&str>,
) -> serde_json::Value {
    let mut properties = json!({
        "roleDefinitionId": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "principalId": principal,
    });
    if let Some(principal_type) = principal_type {
        properties["principalType"] = json!(principal_type);
    }
    json!({ "properties": properties })
}

/// Azure's 403 for `client` (object id `object_id`) doing `action` over `scope`.
#[track_caller]
fn assert_denied(
    response: &TestResponse,
    client: &str,
    object_id: &str,
    action: &str,
    scope: &str,
) {
    response.assert_error(403, "AuthorizationFailed");
    assert_eq!(
        response.json()["error"]["message"],
        format!(
            "The client '{client}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ),
        "{}",
        response.text
    );
}

fn versioned(path: &str) -> String {
    format!("{path}?api-version={}", galleryd_tests::GALLERY_API)
}

both_stores! {
    async fn role_assignments_decide_every_request_along_the_sharing_matrix(backend) {
        let app = TestApp::start(backend).await;
        let subscription = app.subscription_path("");
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gallery").await;
        app.create_image("rg", "gallery", "one", "p", "o", "s1").await;
        app.create_image("rg", "gallery", "two", "p", "o", "s2").await;
        let gallery = app.gallery_path("rg", "gallery");
        let one = app.image_path("rg", "gallery", "one");
        let two = app.image_path("rg", "gallery", "two");
        let ann = user_token(ANN, "ann@contoso.com");
        let bob = user_token(BOB, "bob@contoso.com");
        let carol = user_token(CAROL, "carol@contoso.com");

        // Nobody but the development principals holds a role: Azure's 403, before any 404.
        let read = app.request_as(&ann, Method::GET, &versioned(&gallery), None).await;
        assert_denied(&read, "ann@contoso.com", ANN, "Microsoft.Compute/galleries/read", &gallery);
        let missing = app.request_as(&ann, Method::GET, &versioned(&app.gallery_path("rg", "nope")), None).await;
        missing.assert_error(403, "AuthorizationFailed");
        let grant = app.request_as(&ann, Method::PUT, &assignment_path(&gallery, "9d0b7a4e-0000-4000-8000-000000000001"), Some(&assignment_body(&app.subscription, OWNER, ANN, Some("User")))).await;
        assert_denied(&grant, "ann@contoso.com", ANN, "Microsoft.Authorization/roleAssignments/write", &format!("{gallery}/providers/Microsoft.Authorization/roleAssignments/9d0b7a4e-0000-4000-8000-000000000001"));

        // A principal the directory does not know needs its principalType.
        let name = "11111111-aaaa-4aaa-8aaa-111111111111";
        let unknown = app.request(Method::PUT, &assignment_path(&gallery, name), Some(&assignment_body(&app.subscription, READER, ANN, None))).await;
        unknown.assert_error(400, "PrincipalNotFound");
        assert!(unknown.json()["error"]["message"].as_str().unwrap().starts_with(&format!("Principal {} does not exist in the directory", ANN.replace('-', ""))));
        // Reader for Ann on the gallery.
        let created = app.request(Method::PUT, &assignment_path(&gallery, name), Some(&assignment_body(&app.subscription, READER, ANN, Some("User")))).await;
        created.assert_status(201);
        let body = created.json();
        assert_eq!(body["id"], format!("{gallery}/providers/Microsoft.Authorization/roleAssignments/{name}"));
        assert_eq!((body["name"].as_str(), body["type"].as_str()), (Some(name), Some("Microsoft.Authorization/roleAssignments")));
        assert_eq!(body["properties"]["scope"], gallery);
        assert_eq!(body["properties"]["principalType"], "User");
        assert_eq!(body["properties"]["roleDefinitionId"], format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{READER}", app.subscription));
        assert!(body["properties"]["description"].is_null() && body["properties"]["condition"].is_null());
        // The same PUT again is an update; the same grant under another name is Azure's 409.
        app.request(Method::PUT, &assignment_path(&gallery, name), Some(&assignment_body(&app.subscription, READER, ANN, Some("User")))).await.assert_status(200);
        let twice = app.request(Method::PUT, &assignment_path(&gallery, "22222222-aaaa-4aaa-8aaa-222222222222"), Some(&assignment_body(&app.subscription, READER, ANN, Some("User")))).await;
        twice.assert_error(409, "RoleAssignmentExists");
        assert!(twice.json()["error"]["message"].as_str().unwrap().contains("The role assignment already exists."));
        let changed = app.request(Method::PUT, &assignment_path(&gallery, name), Some(&assignment_body(&app.subscription, CONTRIBUTOR, ANN, Some("User")))).await;
        changed.assert_error(400, "RoleAssignmentUpdateNotPermitted");

        // Reader on the gallery reaches the gallery and its definitions, for reading only, and not upward.
        app.request_as(&ann, Method::GET, &versioned(&gallery), None).await.assert_status(200);
        app.request_as(&ann, Method::GET, &versioned(&two), None).await.assert_status(200);
        app.request_as(&ann, Method::GET, &versioned(&format!("{gallery}/images")), None).await.assert_status(200);
        let write = app.request_as(&ann, Method::PATCH, &versioned(&gallery), Some(&json!({"properties": {"description": "x"}}))).await;
        assert_denied(&write, "ann@contoso.com", ANN, "Microsoft.Compute/galleries/write", &gallery);
        let group = app.request_as(&ann, Method::GET, &format!("{}?api-version=2024-11-01", app.group_path("rg")), None).await;
        assert_denied(&group, "ann@contoso.com", ANN, "Microsoft.Resources/subscriptions/resourceGroups/read", &app.group_path("rg"));

        // Contributor on one definition: that definition only; the gallery's list shows just it.
        app.assign_role(&one, BOB, "User", CONTRIBUTOR).await;
        app.request_as(&bob, Method::PATCH, &versioned(&one), Some(&json!({"properties": {"description": "bob's"}}))).await.assert_status(200);
        let sibling = app.request_as(&bob, Method::PATCH, &versioned(&two), Some(&json!({"properties": {"description": "bob's"}}))).await;
        assert_denied(&sibling, "bob@contoso.com", BOB, "Microsoft.Compute/galleries/images/write", &two);
        let parent = app.request_as(&bob, Method::GET, &versioned(&gallery), None).await;
        assert_denied(&parent, "bob@contoso.com", BOB, "Microsoft.Compute/galleries/read", &gallery);
        let listed = app.request_as(&bob, Method::GET, &versioned(&format!("{gallery}/images")), None).await;
        listed.assert_status(200);
        let names: Vec<String> = listed.json()["value"].as_array().unwrap().iter().map(|image| image["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(names, ["one"], "{}", listed.text);
        // A list the caller sees nothing of: 403 naming the collection's parent.
        let galleries = app.request_as(&bob, Method::GET, &versioned(&app.subscription_path("/providers/Microsoft.Compute/galleries")), None).await;
        assert_denied(&galleries, "bob@contoso.com", BOB, "Microsoft.Compute/galleries/read", &app.subscription_path("/providers/Microsoft.Compute"));

        // GET /subscriptions shows only the subscriptions the caller holds a role in.
        let subscriptions = |token: String| {
            let app = &app;
            async move {
                let answer = app.request_as(&token, Method::GET, "/subscriptions?api-version=2022-12-01", None).await;
                answer.assert_status(200);
                answer.json()["value"].as_array().unwrap().iter().map(|item| item["subscriptionId"].as_str().unwrap().to_string()).collect::<Vec<_>>()
            }
        };
        assert_eq!(subscriptions(bob.clone()).await, vec![app.subscription.clone()]);
        assert!(subscriptions(carol.clone()).await.is_empty());
        let developer = app.request(Method::GET, "/subscriptions?api-version=2022-12-01", None).await;
        assert_eq!(developer.json()["value"].as_array().unwrap().len(), 1);

        // Lists of assignments: atScope() at and above; no filter also below; principalId eq.
        let list = |scope: String, filter: &'static str| {
            let app = &app;
            async move {
                let mut url = format!("{scope}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION_API}");
                if !filter.is_empty() {
                    url.push_str(&format!("&$filter={}", arm_api::arm::request::encode_component(filter)));
                }
                let answer = app.request(Method::GET, &url, None).await;
                answer.assert_status(200);
                let mut principals: Vec<String> = answer.json()["value"].as_array().unwrap().iter().map(|item| item["properties"]["principalId"].as_str().unwrap().to_string()).collect();
                principals.sort();
                principals
            }
        };
        assert_eq!(list(gallery.clone(), "atScope()").await, [ANN]);
        assert_eq!(list(one.clone(), "atScope()").await, [ANN, BOB]);
        assert_eq!(list(subscription.clone(), "").await, [ANN, BOB]);
        assert!(list(subscription.clone(), "atScope()").await.is_empty());
        assert_eq!(list(subscription.clone(), "principalId eq 'b0b0b0b0-0000-4000-8000-00000000000b'").await, [BOB]);
        let listed = app.request(Method::GET, &format!("{subscription}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION_API}&$filter=roleName%20eq%20'x'"), None).await;
        listed.assert_error(400, "InvalidFilterInQueryString");

        // Deleting the assignment takes the access away at once.
        let deleted = app.request(Method::DELETE, &assignment_path(&gallery, name), None).await;
        deleted.assert_status(200);
        assert_eq!(deleted.json()["name"], name);
        app.request(Method::DELETE, &assignment_path(&gallery, name), None).await.assert_status(204);
        app.request(Method::GET, &assignment_path(&gallery, name), None).await.assert_error(404, "RoleAssignmentNotFound");
        app.request_as(&ann, Method::GET, &versioned(&gallery), None).await.assert_error(403, "AuthorizationFailed");
    }

    async fn role_definitions_are_azures_and_bad_assignments_get_azures_errors(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let subscription = app.subscription_path("");
        let definitions = app.request(Method::GET, &format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-05-01-preview&$filter=roleName%20eq%20'reader'"), None).await;
        definitions.assert_status(200);
        let value = definitions.json()["value"].clone();
        assert_eq!(value.as_array().unwrap().len(), 1, "{}", definitions.text);
        assert_eq!(value[0]["id"], format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions/{READER}"));
        assert_eq!(value[0]["properties"]["roleName"], "Reader");
        assert_eq!(value[0]["properties"]["type"], "BuiltInRole");
        assert_eq!(value[0]["properties"]["permissions"][0]["actions"], json!(["*/read"]));
        let all = app.request(Method::GET, &format!("/providers/Microsoft.Authorization/roleDefinitions?api-version={AUTHORIZATION_API}"), None).await;
        // Role definitions are readable by every caller, at any scope; at the root their ids are the tenant form.
        all.assert_status(200);
        assert!(all.json()["value"].as_array().unwrap().iter().any(|role| role["id"] == format!("/providers/Microsoft.Authorization/roleDefinitions/{OWNER}")), "{}", all.text);
        let contributor = app.request(Method::GET, &format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}?api-version={AUTHORIZATION_API}"), None).await;
        contributor.assert_status(200);
        assert!(contributor.json()["properties"]["permissions"][0]["notActions"].as_array().unwrap().contains(&json!("Microsoft.Compute/galleries/share/action")));
        app.request(Method::GET, &format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-4000-8000-000000000000?api-version={AUTHORIZATION_API}"), None).await.assert_error(404, "RoleDefinitionDoesNotExist");

        let name = "33333333-aaaa-4aaa-8aaa-333333333333";
        let put = |scope: String, name: &'static str, body: serde_json::Value| {
            let app = &app;
            async move { app.request(Method::PUT, &assignment_path(&scope, name), Some(&body)).await }
        };
        let group = app.group_path("rg");
        put(group.clone(), name, assignment_body(&app.subscription, "00000000-0000-4000-8000-000000000000", ANN, Some("User"))).await.assert_error(404, "RoleDefinitionDoesNotExist");
        put(group.clone(), name, json!({"properties": {"roleDefinitionId": "Reader", "principalId": ANN, "principalType": "User"}})).await.assert_error(400, "InvalidRoleDefinitionId");
        put(group.clone(), name, assignment_body(&app.subscription, READER, "ann", Some("User"))).await.assert_error(400, "InvalidPrincipalId");
        put(group.clone(), "not-a-guid", assignment_body(&app.subscription, READER, ANN, Some("User"))).await.assert_error(400, "InvalidRoleAssignmentId");
        put(group.clone(), name, json!({"properties": 5})).await.assert_error(400, "InvalidRequestContent");
        put(app.group_path("missing"), name, assignment_body(&app.subscription, READER, ANN, Some("User"))).await.assert_error(404, "ResourceGroupNotFound");
        put(app.gallery_path("rg", "missing"), name, assignment_body(&app.subscription, READER, ANN, Some("User"))).await.assert_error(404, "ResourceNotFound");
        put(format!("{group}/providers/Microsoft.Compute/galleries"), name, assignment_body(&app.subscription, READER, ANN, Some("User"))).await.assert_error(400, "MissingSubscription");
        put("/subscriptions/00000000-0000-4000-8000-0000000000ff".to_string(), name, assignment_body(&app.subscription, READER, ANN, Some("User"))).await.assert_error(404, "SubscriptionNotFound");
        // A known principal named with the wrong type.
        let mismatch = put(group.clone(), name, assignment_body(&app.subscription, READER, gallery_domain::identity::DEVELOPMENT_SERVICE_PRINCIPAL_OBJECT_ID, Some("User"))).await;
        mismatch.assert_error(400, "UnmatchedPrincipalType");
        // A known principal needs no type.
        let known = put(group.clone(), name, assignment_body(&app.subscription, READER, gallery_domain::identity::DEVELOPMENT_SERVICE_PRINCIPAL_OBJECT_ID, None)).await;
        known.assert_status(201);
        assert_eq!(known.json()["properties"]["principalType"], "ServicePrincipal");
    }
}

const ADMIN: &str = "ad0000ad-0000-4000-8000-0000000000ad";
const OUTER_GROUP: &str = "0a0a0a0a-1111-4111-8111-000000000001";
const INNER_GROUP: &str = "0a0a0a0a-1111-4111-8111-000000000002";

/// An identities file: Admin is Owner of the development subscription (so the development user is
/// not), Ann is in the inner group, which is in the outer group, which reads the gallery.
fn identities_file(directory: &std::path::Path, gallery: &str) -> std::path::PathBuf {
    let tenant = galleryd_tests::DEVELOPMENT_TENANT_ID;
    let file = directory.join("identities.json");
    let body = json!({
        "principals": [
            {"kind": "User", "objectId": ADMIN, "userPrincipalName": "admin@contoso.com", "tenantId": tenant},
            {"kind": "User", "objectId": ANN, "userPrincipalName": "ann@contoso.com", "tenantId": tenant},
            {"kind": "User", "objectId": BOB, "userPrincipalName": "bob@contoso.com", "tenantId": tenant}
        ],
        "groups": [
            {"objectId": OUTER_GROUP, "displayName": "gallery readers", "tenantId": tenant, "members": [INNER_GROUP]},
            {"objectId": INNER_GROUP, "displayName": "team", "tenantId": tenant, "members": [ANN]}
        ],
        "roleAssignments": [
            {"scope": format!("/subscriptions/{}", galleryd_tests::DEVELOPMENT_SUBSCRIPTION_ID), "principalId": ADMIN, "roleName": "owner"},
            {"scope": gallery, "principalId": OUTER_GROUP, "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{READER}")}
        ]
    });
    std::fs::write(&file, body.to_string()).expect("write identities");
    file
}

both_stores! {
    async fn configured_groups_and_assignments_decide_from_the_start(backend) {
        let files = galleryd_tests::TempDirectory::new();
        let gallery = TestApp::new_gallery_path_for_subscription(galleryd_tests::DEVELOPMENT_SUBSCRIPTION_ID, "rg", "gallery");
        let identities = identities_file(&files.0, &gallery);
        let app = TestApp::start_with(backend, |config| config.identities = Some(identities)).await;
        let admin = user_token(ADMIN, "admin@contoso.com");
        let ann = user_token(ANN, "ann@contoso.com");
        let bob = user_token(BOB, "bob@contoso.com");

        // The file assigns roles in the development subscription: the development user owns it no more.
        let developer = app.request(Method::GET, &format!("{}?api-version=2024-11-01", app.group_path("rg")), None).await;
        developer.assert_error(403, "AuthorizationFailed");
        let listed = app.request(Method::GET, "/subscriptions?api-version=2022-12-01", None).await;
        assert!(listed.json()["value"].as_array().unwrap().is_empty(), "{}", listed.text);
        // Admin, Owner by the file, builds the gallery.
        app.request_as(&admin, Method::PUT, &format!("{}?api-version=2024-11-01", app.group_path("rg")), Some(&json!({"location": "westus"}))).await.assert_status(201);
        app.request_as(&admin, Method::PUT, &versioned(&gallery), Some(&json!({"location": "westus"}))).await.assert_status(201);
        let image = format!("{gallery}/images/one");
        app.request_as(&admin, Method::PUT, &versioned(&image), Some(&TestApp::image_body("p", "o", "s"))).await.assert_status(201);

        // Ann reads through two levels of groups; reading is all she may do.
        app.request_as(&ann, Method::GET, &versioned(&gallery), None).await.assert_status(200);
        app.request_as(&ann, Method::GET, &versioned(&image), None).await.assert_status(200);
        let write = app.request_as(&ann, Method::PATCH, &versioned(&image), Some(&json!({"properties": {"description": "x"}}))).await;
        assert_denied(&write, "ann@contoso.com", ANN, "Microsoft.Compute/galleries/images/write", &image);
        app.request_as(&bob, Method::GET, &versioned(&gallery), None).await.assert_error(403, "AuthorizationFailed");

        // A role given to a group through the API reaches its members; the assignment says Group.
        let assigned = app.request_as(&admin, Method::PUT, &assignment_path(&image, "44444444-aaaa-4aaa-8aaa-444444444444"), Some(&assignment_body(&app.subscription, CONTRIBUTOR, INNER_GROUP, None))).await;
        assigned.assert_status(201);
        assert_eq!(assigned.json()["properties"]["principalType"], "Group");
        app.request_as(&ann, Method::PATCH, &versioned(&image), Some(&json!({"properties": {"description": "x"}}))).await.assert_status(200);
        // assignedTo() lists Ann's own and her groups' assignments (the configured ones are not stored).
        let mine = app.request_as(&admin, Method::GET, &format!("{image}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION_API}&$filter=atScope()%20and%20assignedTo('{ANN}')"), None).await;
        mine.assert_status(200);
        assert_eq!(mine.json()["value"][0]["properties"]["principalId"], INNER_GROUP, "{}", mine.text);
    }
}

both_stores! {
    async fn tokens_of_another_tenant_are_refused_as_azure_refuses_them(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let other_tenant = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb";
        let foreign = galleryd_tests::claims_token(&json!({"tid": other_tenant, "oid": ANN, "upn": "ann@fabrikam.com"}));
        let answer = app.request_as(&foreign, Method::GET, &format!("{}?api-version=2024-11-01", app.group_path("rg")), None).await;
        answer.assert_error(401, "InvalidAuthenticationTokenTenant");
        let message = answer.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.starts_with(&format!("The access token is from the wrong issuer 'https://sts.windows.net/{other_tenant}/'. It must match the tenant 'https://sts.windows.net/{}/' associated with this subscription.", galleryd_tests::DEVELOPMENT_TENANT_ID)), "{message}");
        assert!(answer.header("www-authenticate").is_some_and(|challenge| challenge.starts_with("Bearer authorization_uri=")));
        // Even a role does not help a token of the wrong tenant; the right tenant's token gets the role.
        app.assign_role(&app.group_path("rg"), ANN, "User", READER).await;
        app.request_as(&foreign, Method::GET, &format!("{}?api-version=2024-11-01", app.group_path("rg")), None).await.assert_error(401, "InvalidAuthenticationTokenTenant");
        app.request_as(&user_token(ANN, "ann@contoso.com"), Method::GET, &format!("{}?api-version=2024-11-01", app.group_path("rg")), None).await.assert_status(200);
    }
}

both_stores! {
    async fn custom_roles_grant_their_actions_minus_their_not_actions(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        app.create_gallery("rg", "gallery").await;
        app.create_image("rg", "gallery", "one", "p", "o", "s").await;
        let gallery = app.gallery_path("rg", "gallery");
        let image = app.image_path("rg", "gallery", "one");
        let subscription = app.subscription_path("");
        let role = "5e5e5e5e-0000-4000-8000-00000000005e";
        let role_path = format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}?api-version={AUTHORIZATION_API}");
        let definition = |name: &str| json!({"properties": {
            "roleName": name, "description": "publishes, never deletes", "type": "CustomRole",
            "permissions": [{"actions": ["Microsoft.Compute/galleries/images/*"], "notActions": ["Microsoft.Compute/galleries/images/delete"]}],
            "assignableScopes": [subscription],
        }});
        let created = app.request(Method::PUT, &role_path, Some(&definition("Image publisher"))).await;
        created.assert_status(201);
        assert_eq!(created.json()["id"], format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"));
        assert_eq!(created.json()["properties"]["type"], "CustomRole");
        app.request(Method::PUT, &role_path, Some(&definition("Image publisher"))).await.assert_status(200);
        let other = format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions/6e6e6e6e-0000-4000-8000-00000000006e?api-version={AUTHORIZATION_API}");
        app.request(Method::PUT, &other, Some(&definition("image PUBLISHER"))).await.assert_error(409, "RoleDefinitionWithSameNameExists");
        app.request(Method::PUT, &other, Some(&definition("Reader"))).await.assert_error(409, "RoleDefinitionWithSameNameExists");
        app.request(Method::PUT, &format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions/{READER}?api-version={AUTHORIZATION_API}"), Some(&definition("Mine"))).await.assert_error(400, "InvalidRoleDefinitionId");
        app.request(Method::PUT, &other, Some(&json!({"properties": {"roleName": "x"}}))).await.assert_error(400, "InvalidRequestContent");
        let custom = app.request(Method::GET, &format!("{subscription}/providers/Microsoft.Authorization/roleDefinitions?api-version={AUTHORIZATION_API}&$filter=type%20eq%20'CustomRole'"), None).await;
        assert_eq!(custom.json()["value"].as_array().unwrap().len(), 1, "{}", custom.text);

        app.assign_role(&gallery, ANN, "User", role).await;
        let ann = user_token(ANN, "ann@contoso.com");
        app.request_as(&ann, Method::PATCH, &versioned(&image), Some(&json!({"properties": {"description": "x"}}))).await.assert_status(200);
        let delete = app.request_as(&ann, Method::DELETE, &versioned(&image), None).await;
        assert_denied(&delete, "ann@contoso.com", ANN, "Microsoft.Compute/galleries/images/delete", &image);
        app.request_as(&ann, Method::GET, &versioned(&gallery), None).await.assert_error(403, "AuthorizationFailed");
        // Deleting the role takes what it granted away.
        app.request(Method::DELETE, &role_path, None).await.assert_status(200);
        app.request(Method::DELETE, &role_path, None).await.assert_status(204);
        app.request_as(&ann, Method::PATCH, &versioned(&image), Some(&json!({"properties": {"description": "y"}}))).await.assert_error(403, "AuthorizationFailed");
    }
}
