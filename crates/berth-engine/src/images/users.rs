//! Which containers use an image: the store asks before deleting one.

use berth_oci::Digest;
use berth_store::images::ImageUsers;

use crate::containers::Containers;

/// The engine's containers as the store's [`ImageUsers`].
pub struct ContainerUsers<'a>(pub &'a Containers);

/// A record's `image` holds the image ID (`sha256:<hex>`; bare hex accepted too).
fn is_image(field: &str, id: &Digest) -> bool {
    field == id.to_string() || field == id.hex()
}

impl ContainerUsers<'_> {
    /// (container ID, running) of every container created from `image`.
    pub fn users(&self, image: &Digest) -> Vec<(String, bool)> {
        let mut users: Vec<(String, bool)> = self
            .0
            .all()
            .iter()
            .map(|c| c.snapshot())
            .filter(|r| is_image(&r.image, image))
            .map(|r| (r.id, r.state.status.is_live()))
            .collect();
        // Running ones first: they are the hard conflict Docker reports.
        users.sort_by_key(|(id, running)| (!running, id.clone()));
        users
    }
}

impl ImageUsers for ContainerUsers<'_> {
    fn containers_using(&self, image: &Digest) -> Vec<String> {
        self.users(image).into_iter().map(|(id, _)| id).collect()
    }
}
