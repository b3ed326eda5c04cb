//! Dense ids: indexes into an [`crate::Engine`]'s tables, cheap to copy into a call's state.

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($t:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub(crate) $t);

        impl $name {
            /// The index.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// A gateway (SBC) of the engine.
    GatewayId(u16)
);
id!(
    /// A voice route of the engine.
    RouteId(u16)
);
id!(
    /// A user or resource account of the engine (resource accounts follow the users).
    UserId(u32)
);
id!(
    /// An Operator Connect trunk of the engine.
    TrunkId(u16)
);
id!(
    /// A Calling Plan minute pool of the engine.
    PoolId(u16)
);

impl UserId {
    /// A party by index (`0..engine.party_count()`).
    pub fn from_index(i: u32) -> UserId {
        UserId(i)
    }
}
id!(
    /// A network site of the engine.
    SiteId(u16)
);

impl SiteId {
    /// A network site by index, in the tenant's order (an index past the last site means an
    /// unknown network).
    pub fn from_index(i: u16) -> SiteId {
        SiteId(i)
    }
}

impl TrunkId {
    /// A trunk by index (`0..engine.trunk_count()`).
    pub fn from_index(i: u16) -> TrunkId {
        TrunkId(i)
    }
}

impl GatewayId {
    /// A gateway by index (`0..engine.gateway_count()`).
    pub fn from_index(i: u16) -> GatewayId {
        GatewayId(i)
    }
}

impl PoolId {
    /// A minute pool by index (`0..engine.pools().len()`).
    pub fn from_index(i: u16) -> PoolId {
        PoolId(i)
    }
}
