//! Docker-shaped events (`GET /events`): every engine operation publishes here; subscribers
//! are callbacks (the API layer forwards them into its own async channel), and the last events
//! are kept so `--since` can replay them.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

/// How many past events `--since` can reach back to.
const HISTORY: usize = 1024;

#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `container`, `image`, `volume`, `network`, `daemon`.
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: &'static str,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
    // The pre-1.22 fields, still sent by Docker and read by older clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Event {
    pub fn new(kind: &str, action: &str, id: &str, attributes: BTreeMap<String, String>) -> Event {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        let legacy = kind == "container" || kind == "image";
        Event {
            kind: kind.to_string(),
            action: action.to_string(),
            status: legacy.then(|| action.to_string()),
            id: legacy.then(|| id.to_string()),
            from: (kind == "container")
                .then(|| attributes.get("image").cloned())
                .flatten(),
            actor: Actor {
                id: id.to_string(),
                attributes,
            },
            scope: "local",
            time: nanos / 1_000_000_000,
            time_nano: nanos,
        }
    }
}

/// What a prune removed: each prune publishes Docker's `prune` event of its object type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pruned {
    Containers,
    Images,
    Volumes,
    Networks,
    BuildCache,
}

impl Pruned {
    /// The event `Type` dockerd uses for it.
    pub fn event_type(self) -> &'static str {
        match self {
            Pruned::Containers => "container",
            Pruned::Images => "image",
            Pruned::Volumes => "volume",
            Pruned::Networks => "network",
            Pruned::BuildCache => "builder",
        }
    }
}

impl Event {
    /// dockerd's prune event: no actor ID, the bytes freed in the `reclaimed` attribute.
    pub fn prune(what: Pruned, reclaimed: u64) -> Event {
        let attrs = BTreeMap::from([("reclaimed".to_string(), reclaimed.to_string())]);
        Event::new(what.event_type(), "prune", "", attrs)
    }
}

/// Returns false when the subscriber is gone (it is then dropped).
pub type Subscriber = Box<dyn Fn(&Event) -> bool + Send + Sync>;

#[derive(Default)]
pub struct EventBus {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    history: VecDeque<Event>,
    subscribers: Vec<Subscriber>,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventBus")
    }
}

impl EventBus {
    pub fn publish(&self, event: Event) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.subscribers.retain(|s| s(&event));
        if inner.history.len() == HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back(event);
    }

    /// Publishes the `prune` event of a finished prune (sent even when nothing went, as
    /// dockerd does).
    pub fn publish_prune(&self, what: Pruned, reclaimed: u64) {
        self.publish(Event::prune(what, reclaimed));
    }

    /// Registers `subscriber` and returns the kept events at or after `since_nanos` (to replay
    /// first), atomically: no event is missed or seen twice.
    pub fn subscribe(&self, since_nanos: Option<i64>, subscriber: Subscriber) -> Vec<Event> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.subscribers.push(subscriber);
        match since_nanos {
            Some(since) => inner
                .history
                .iter()
                .filter(|e| e.time_nano >= since)
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_events_carry_reclaimed_and_no_actor() {
        let json = serde_json::to_value(Event::prune(Pruned::Volumes, 42)).unwrap();
        assert_eq!(json["Type"], "volume");
        assert_eq!(json["Action"], "prune");
        assert_eq!(json["Actor"]["ID"], "");
        assert_eq!(json["Actor"]["Attributes"]["reclaimed"], "42");
        let builder = serde_json::to_value(Event::prune(Pruned::BuildCache, 0)).unwrap();
        assert_eq!(builder["Type"], "builder");
    }
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn delivers_replays_and_drops_gone_subscribers() {
        let bus = EventBus::default();
        bus.publish(Event::new("image", "pull", "busybox", BTreeMap::new()));
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let replay = bus.subscribe(
            Some(0),
            Box::new(move |_| counter.fetch_add(1, Ordering::SeqCst) < 1),
        );
        assert_eq!(replay.len(), 1);
        assert_eq!(replay[0].status.as_deref(), Some("pull"));
        let attrs = BTreeMap::from([("image".to_string(), "busybox".to_string())]);
        bus.publish(Event::new("container", "start", "abc", attrs.clone()));
        bus.publish(Event::new("container", "die", "abc", attrs));
        bus.publish(Event::new("container", "destroy", "abc", BTreeMap::new()));
        // The subscriber said "gone" on its second event and got no third.
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        let json = serde_json::to_value(&bus.subscribe(Some(0), Box::new(|_| true))[1]).unwrap();
        assert_eq!(json["Type"], "container");
        assert_eq!(json["from"], "busybox");
        assert_eq!(json["Actor"]["ID"], "abc");
    }
}
