//! The serving engine behind an atomic pointer: readers never wait, a reload replaces engine
//! and state together, and a tenant that fails to compile changes nothing.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tpr_tenant::Tenant;

use crate::engine::{CompileError, Engine};
use crate::state::State;

/// An engine with the state that goes with it.
#[derive(Debug)]
pub struct Loaded {
    /// The compiled tenant.
    pub engine: Arc<Engine>,
    /// Its counters, health and pools.
    pub state: Arc<State>,
}

/// The current [`Loaded`] engine. Calls take a snapshot ([`Router::current`]) when they start
/// and keep it to the end, so calls in flight finish on the engine they started with.
#[derive(Debug)]
pub struct Router {
    current: ArcSwap<Loaded>,
}

impl Router {
    /// Compiles `tenant` and serves it.
    pub fn new(tenant: &Tenant) -> Result<Router, CompileError> {
        let engine = Arc::new(Engine::compile(tenant)?);
        let state = Arc::new(State::new(&engine));
        Ok(Router { current: ArcSwap::from_pointee(Loaded { engine, state }) })
    }

    /// The engine and state serving now.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Compiles `tenant` and, if that succeeds, serves it from now on. On error nothing
    /// changes. Calls in flight keep counting against the limits: when the capacity key layout
    /// is unchanged (same numbers, gateways, trunks and limits) the new engine counts on the
    /// old ledger; otherwise on a new one that adds what the old one still holds under each
    /// key's name ([`tpr_capacity::LedgerBuilder::build_after`]). Gateway health carries over
    /// by name; pool minutes, credits and spend are shared with the old state, so calls that
    /// end on the old engine still bill them ([`State::after`]).
    pub fn reload(&self, tenant: &Tenant) -> Result<(), CompileError> {
        let engine = Engine::compile(tenant)?;
        let old = self.current.load();
        let same_layout = old.engine.ledger_layout().same_layout(engine.ledger_layout());
        let ledger = if same_layout {
            old.state.ledger.clone()
        } else {
            Arc::new(engine.ledger_layout().clone().build_after(&old.state.ledger))
        };
        let state = State::after(&engine, ledger, &old.engine, &old.state);
        self.current.store(Arc::new(Loaded { engine: Arc::new(engine), state: Arc::new(state) }));
        Ok(())
    }
}
