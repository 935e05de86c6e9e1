//! /exec/...

use crate::http::Body;
use crate::models::{ExecConfig, ExecInspectResponse, ExecStartConfig, IdResponse};
use crate::{Client, Error, Hijacked, Query};

impl Client {
    pub fn exec_create(&self, container: &str, config: &ExecConfig) -> Result<String, Error> {
        let response: IdResponse = self
            .call(
                "POST",
                &format!("/containers/{container}/exec"),
                &Query::new(),
                Body::json(config)?,
            )?
            .json()?;
        Ok(response.id)
    }

    /// Starts an exec attached: the connection is hijacked for its stdio.
    pub fn exec_start_attached(&self, id: &str, tty: bool) -> Result<Hijacked, Error> {
        let body = ExecStartConfig {
            detach: Some(false),
            tty: Some(tty),
            console_size: None,
        };
        self.hijack(
            &format!("/exec/{id}/start"),
            &Query::new(),
            Body::json(&body)?,
        )
    }

    pub fn exec_start_detached(&self, id: &str) -> Result<(), Error> {
        let body = ExecStartConfig {
            detach: Some(true),
            tty: Some(false),
            console_size: None,
        };
        self.call(
            "POST",
            &format!("/exec/{id}/start"),
            &Query::new(),
            Body::json(&body)?,
        )?
        .bytes()
        .map(drop)
    }

    pub fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<(), Error> {
        let q = Query::new().add("h", height).add("w", width);
        self.call("POST", &format!("/exec/{id}/resize"), &q, Body::Empty)?
            .bytes()
            .map(drop)
    }

    pub fn exec_inspect(&self, id: &str) -> Result<ExecInspectResponse, Error> {
        self.get_json(&format!("/exec/{id}/json"), &Query::new())
    }
}
