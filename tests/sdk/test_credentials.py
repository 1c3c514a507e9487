"""azure-identity's credentials against galleryd's token endpoints, unmodified: DefaultAzureCredential
with a service principal's environment variables, and ManagedIdentityCredential through
IDENTITY_ENDPOINT (App Service style), each driving a gallery lifecycle whose systemData names the
principal the token was issued to.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import Gallery, GalleryUpdate

from conftest import LOCATION, Endpoints, Lro, unique_name

DEVELOPMENT_MANAGED_IDENTITY_CLIENT_ID = "6a11e2d0-0000-4000-8000-000000000006"


def gallery_lifecycle(credential, galleryd: Endpoints, lro: Lro, resource_group: str) -> str:
    """Creates, updates, reads and deletes a gallery with `credential`; returns its createdBy."""
    with ComputeManagementClient(
        credential, galleryd.subscription_id, base_url=galleryd.https, connection_verify=galleryd.certificate
    ) as compute:
        name = unique_name("gal")
        created = lro.run(
            compute.galleries.begin_create_or_update, resource_group, name, Gallery(location=LOCATION)
        )
        assert created.provisioning_state == "Succeeded"
        updated = lro.run(
            compute.galleries.begin_update, resource_group, name, GalleryUpdate(description="signed in")
        )
        assert updated.description == "signed in"
        created_by = compute.galleries.get(resource_group, name).system_data.created_by
        lro.run(compute.galleries.begin_delete, resource_group, name)
        return created_by


def test_default_azure_credential_with_a_service_principal(
    galleryd: Endpoints, lro: Lro, resource_group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", galleryd.https)
    monkeypatch.setenv("AZURE_TENANT_ID", galleryd.tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", galleryd.client_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", galleryd.client_secret)
    credential = DefaultAzureCredential(disable_instance_discovery=True)
    token = credential.get_token("https://management.azure.com/.default")
    assert token.token.count(".") == 2
    assert gallery_lifecycle(credential, galleryd, lro, resource_group) == galleryd.client_id

    # A wrong secret is Entra ID's invalid_client, surfaced as the SDK's authentication error.
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "wrong")
    with pytest.raises(ClientAuthenticationError) as refused:
        DefaultAzureCredential(disable_instance_discovery=True).get_token("https://management.azure.com/.default")
    assert "AADSTS7000215" in str(refused.value)


def test_managed_identity_credential_through_identity_endpoint(
    galleryd: Endpoints, lro: Lro, resource_group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", galleryd.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", galleryd.identity_header)
    credential = ManagedIdentityCredential()
    assert gallery_lifecycle(credential, galleryd, lro, resource_group) == DEVELOPMENT_MANAGED_IDENTITY_CLIENT_ID
