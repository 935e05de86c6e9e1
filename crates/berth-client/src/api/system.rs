//! /version, /info, /system/df, /events, /auth.

use serde_json::Value;

use crate::http::{Body, BodyReader};
use crate::models::{AuthConfig, SystemVersion};
use crate::{Client, Error, Query};

impl Client {
    pub fn version(&self) -> Result<SystemVersion, Error> {
        self.get_json("/version", &Query::new())
    }

    pub fn info(&self) -> Result<Value, Error> {
        self.get_json("/info", &Query::new())
    }

    pub fn system_df(&self) -> Result<Value, Error> {
        self.get_json("/system/df", &Query::new())
    }

    pub fn events(
        &self,
        since: Option<&str>,
        until: Option<&str>,
        filters: Option<String>,
    ) -> Result<BodyReader, Error> {
        let q = Query::new()
            .opt("since", since)
            .opt("until", until)
            .opt("filters", filters);
        Ok(self.call("GET", "/events", &q, Body::Empty)?.into_reader())
    }

    /// POST /auth: checks credentials with the registry (through the daemon).
    pub fn auth(&self, config: &AuthConfig) -> Result<Value, Error> {
        self.call("POST", "/auth", &Query::new(), Body::json(config)?)?
            .json()
    }
}
