//! Contents: the bytes of disks, snapshots and image version replicas, as rows that point into a
//! region's blob store.
//!
//! A content is created `Writable` (an upload disk takes page writes through galleryd's blob
//! endpoint), then `Sealed` with its manifest (the sparse list of extents, its checksum and
//! occupied size; see the gallery-blob crate). Every content names the resource it belongs to
//! (`owner_key`): contents of resources that no longer exist are garbage, collected with their
//! blobs by the garbage-collection job.

use std::collections::HashSet;

use crate::clock::now_millis;
use crate::{Store, StoreError};

gallery_domain::string_enum! {
    /// Whether a content still takes writes.
    pub enum ContentState {
        Writable = "Writable",
        Sealed = "Sealed",
    }
}

/// A content row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredContent {
    pub content_id: String,
    pub region: String,
    pub logical_size: i64,
    #[sqlx(try_from = "String")]
    pub state: ContentState,
    /// The manifest (JSON) once sealed.
    pub manifest: Option<String>,
    pub occupied_bytes: i64,
    pub checksum: Option<String>,
    pub owner_key: String,
    pub created_at: i64,
}

/// A page write recorded against a writable content, in landing order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredPageWrite {
    pub write_seq: i64,
    /// Names the page object in the blob store.
    pub write_id: i64,
    pub offset_bytes: i64,
    pub length_bytes: i64,
}

const CONTENT_COLUMNS: &str = "content_id, region, logical_size, state, manifest, occupied_bytes, checksum, owner_key, created_at";

impl Store {
    /// Records a new content (`Writable`, or `Sealed` with its manifest when `manifest` is given).
    pub async fn create_content(
        &self,
        content_id: &str,
        region: &str,
        logical_size: i64,
        owner_key: &str,
        sealed: Option<(&str, i64, &str)>,
    ) -> Result<(), StoreError> {
        let (state, manifest, occupied, checksum) = match sealed {
            Some((manifest, occupied, checksum)) => {
                ("Sealed", Some(manifest), occupied, Some(checksum))
            }
            None => ("Writable", None, 0, None),
        };
        transaction!(self, (transaction, dialect) => {
            sqlx::query(
                "INSERT INTO contents (content_id, region, logical_size, state, manifest, occupied_bytes, checksum, owner_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (content_id) DO UPDATE SET state = excluded.state, manifest = excluded.manifest, \
                 occupied_bytes = excluded.occupied_bytes, checksum = excluded.checksum, logical_size = excluded.logical_size",
            )
            .bind(content_id)
            .bind(region)
            .bind(logical_size)
            .bind(state)
            .bind(manifest)
            .bind(occupied)
            .bind(checksum)
            .bind(owner_key)
            .bind(now_millis())
            .execute(&mut *transaction)
            .await?;
        });
        Ok(())
    }

    /// A content by id.
    pub async fn get_content(&self, content_id: &str) -> Result<Option<StoredContent>, StoreError> {
        Ok(
            read!(self, pool => sqlx::query_as(&format!("SELECT {CONTENT_COLUMNS} FROM contents WHERE content_id = $1"))
            .bind(content_id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Records a page write against a `Writable` content; `false` when the content is not writable
    /// (sealed, or unknown).
    pub async fn record_page_write(
        &self,
        content_id: &str,
        write_id: i64,
        offset: i64,
        length: i64,
    ) -> Result<bool, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            let writable: Option<String> = sqlx::query_scalar("SELECT state FROM contents WHERE content_id = $1")
                .bind(content_id)
                .fetch_optional(&mut *transaction)
                .await?;
            if writable.as_deref() != Some(ContentState::Writable.as_str()) {
                return Ok(false);
            }
            sqlx::query("INSERT INTO page_writes (content_id, write_id, offset_bytes, length_bytes) VALUES ($1, $2, $3, $4)")
                .bind(content_id)
                .bind(write_id)
                .bind(offset)
                .bind(length)
                .execute(&mut *transaction)
                .await?;
            true
        }))
    }

    /// The page writes of a content, in landing order.
    pub async fn list_page_writes(
        &self,
        content_id: &str,
    ) -> Result<Vec<StoredPageWrite>, StoreError> {
        Ok(read!(self, pool => sqlx::query_as(
            "SELECT write_seq, write_id, offset_bytes, length_bytes FROM page_writes WHERE content_id = $1 ORDER BY write_seq",
        )
        .bind(content_id)
        .fetch_all(pool)
        .await)?)
    }

    /// Seals a content with its manifest and forgets its page writes.
    pub async fn seal_content(
        &self,
        content_id: &str,
        manifest: &str,
        occupied_bytes: i64,
        checksum: &str,
    ) -> Result<(), StoreError> {
        transaction!(self, (transaction, dialect) => {
            sqlx::query("UPDATE contents SET state = 'Sealed', manifest = $2, occupied_bytes = $3, checksum = $4 WHERE content_id = $1")
                .bind(content_id)
                .bind(manifest)
                .bind(occupied_bytes)
                .bind(checksum)
                .execute(&mut *transaction)
                .await?;
            sqlx::query("DELETE FROM page_writes WHERE content_id = $1").bind(content_id).execute(&mut *transaction).await?;
        });
        Ok(())
    }

    /// Hands a content to another owner: a VM application package is read before its version
    /// exists (owned by the application meanwhile) and handed to the version once it is recorded.
    pub async fn set_content_owner(
        &self,
        content_id: &str,
        owner_key: &str,
    ) -> Result<(), StoreError> {
        transaction!(self, (transaction, dialect) => {
            sqlx::query("UPDATE contents SET owner_key = $2 WHERE content_id = $1")
                .bind(content_id)
                .bind(owner_key)
                .execute(&mut *transaction)
                .await?;
        });
        Ok(())
    }

    /// Forgets a content (its blobs are already deleted).
    pub async fn delete_content(&self, content_id: &str) -> Result<(), StoreError> {
        transaction!(self, (transaction, dialect) => {
            sqlx::query("DELETE FROM contents WHERE content_id = $1").bind(content_id).execute(&mut *transaction).await?;
        });
        Ok(())
    }

    /// Contents whose owning resource no longer exists (garbage).
    pub async fn orphaned_contents(&self, limit: i64) -> Result<Vec<StoredContent>, StoreError> {
        Ok(read!(self, pool => sqlx::query_as(&format!(
            "SELECT {CONTENT_COLUMNS} FROM contents c WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.resource_key = c.owner_key) \
             ORDER BY created_at LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(pool)
        .await)?)
    }

    /// Which of `content_ids` (found in a region's blob store) the database knows.
    pub async fn known_contents(
        &self,
        content_ids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut known = HashSet::new();
        for chunk in content_ids.chunks(500) {
            let rows: Vec<String> = read!(self, pool => {
                let mut query = String::from("SELECT content_id FROM contents WHERE content_id IN (");
                for index in 0..chunk.len() {
                    if index > 0 {
                        query.push_str(", ");
                    }
                    query.push_str(&format!("${}", index + 1));
                }
                query.push(')');
                let mut statement = sqlx::query_scalar(&query);
                for id in chunk {
                    statement = statement.bind(id);
                }
                statement.fetch_all(pool).await
            })?;
            known.extend(rows);
        }
        Ok(known)
    }

    /// The contents of a resource.
    pub async fn contents_of(&self, owner_key: &str) -> Result<Vec<StoredContent>, StoreError> {
        Ok(
            read!(self, pool => sqlx::query_as(&format!("SELECT {CONTENT_COLUMNS} FROM contents WHERE owner_key = $1 ORDER BY created_at"))
            .bind(owner_key)
            .fetch_all(pool)
            .await)?,
        )
    }
}
