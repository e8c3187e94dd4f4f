//! [`MemcachedStore`]'s [`Store`] implementation: each operation under the store's timeout,
//! on a pooled connection to the server owning its key.

use futures_util::future::try_join_all;

use super::MemcachedStore;
use super::counter;
use crate::Ttl;
use crate::error::Error;
use crate::store::Store;
use crate::store::coalesce;

impl Store for MemcachedStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        // Read together with the other gets in flight, as one multi-get per server; the
        // coalescer's timeout covers the wait for a read as well as the read.
        self.open()?;
        coalesce::get(self, key.to_string()).await
    }

    async fn get_many(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, Error> {
        self.run(self.read_many(keys)).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<(), Error> {
        let Some(flag) = self.exptime(ttl).flag() else {
            // Already expired: what was there goes, nothing new stays.
            return self.delete(key).await.map(drop);
        };
        self.run(async {
            let (server, full) = self.locate(key).await?;
            self.pool(server)?
                .conn()
                .await?
                .set(&full, value, &flag)
                .await
        })
        .await
    }

    async fn set_many(&self, entries: &[(&str, &[u8])], ttl: Ttl) -> Result<(), Error> {
        let flag = self.exptime(ttl).flag();
        self.run(async {
            if entries.is_empty() {
                return Ok(());
            }
            let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
            let located = self.locate_many(&keys).await?;
            let writes = self
                .by_server(&located)
                .into_iter()
                .map(|(server, positions)| {
                    let (located, flag) = (&located, &flag);
                    async move {
                        let mut conn = self.pool(server)?.conn().await?;
                        let Some(flag) = flag else {
                            for i in positions {
                                conn.delete(&located[i].1).await?;
                            }
                            return Ok(());
                        };
                        let items: Vec<(&str, &[u8])> = positions
                            .iter()
                            .map(|&i| (located[i].1.as_str(), entries[i].1))
                            .collect();
                        conn.set_multi(&items, flag).await
                    }
                });
            try_join_all(writes).await.map(drop)
        })
        .await
    }

    async fn add(&self, key: &str, value: &[u8], ttl: Ttl) -> Result<bool, Error> {
        let Some(flag) = self.exptime(ttl).flag() else {
            // Stored and expired at once: "stored" only if nothing was there.
            return Ok(!self.exists(key).await?);
        };
        self.run(async {
            let (server, full) = self.locate(key).await?;
            self.pool(server)?
                .conn()
                .await?
                .add(&full, value, &flag)
                .await
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, Error> {
        self.run(async {
            let (server, full) = self.locate(key).await?;
            self.pool(server)?.conn().await?.delete(&full).await
        })
        .await
    }

    async fn exists(&self, key: &str) -> Result<bool, Error> {
        self.run(async {
            let (server, full) = self.locate(key).await?;
            self.pool(server)?.conn().await?.exists(&full).await
        })
        .await
    }

    async fn expire(&self, key: &str, ttl: Ttl) -> Result<bool, Error> {
        let Some(flag) = self.exptime(ttl).flag() else {
            return self.delete(key).await;
        };
        self.run(async {
            let (server, full) = self.locate(key).await?;
            // A meta get with a new TTL: memcached's touch.
            self.pool(server)?.conn().await?.touch(&full, &flag).await
        })
        .await
    }

    async fn increment(&self, key: &str, by: i64) -> Result<i64, Error> {
        let create = self.exptime(Ttl::Default).flag();
        self.run(async {
            let (server, full) = self.locate(key).await?;
            let mut conn = self.pool(server)?.conn().await?;
            counter::increment(&mut conn, &full, by, create.as_deref()).await
        })
        .await
    }

    async fn clear(&self) -> Result<(), Error> {
        self.run(self.next_generation()).await
    }

    async fn close(&self) -> Result<(), Error> {
        self.mark_closed();
        Ok(())
    }
}
