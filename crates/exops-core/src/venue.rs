//! The venue: its assets (with networks), markets and the services they give rise to.
//! A venue is declared once, by the first event of a log, and never changes afterwards.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::rules::RulesVersion;

/// Bounds that keep every index in a small integer and every table small.
pub const ASSETS_MAX: usize = 4_096;
pub const MARKETS_MAX: usize = 16_384;
pub const NETWORKS_PER_ASSET_MAX: usize = 32;
pub const DECIMALS_MAX: u8 = 18;
pub const CODE_LENGTH_MAX: usize = 16;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AssetId(pub u16);

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MarketId(pub u16);

/// Dense index of a service: trading services first (one per market, in market order),
/// then each asset's deposit and withdrawal services, then margin, onboarding, login.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServiceId(pub u32);

impl ServiceId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    Fiat,
    Crypto,
}

/// How an asset is declared in `venue_declared`, with its opening ledger position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    pub code: String,
    pub class: AssetClass,
    /// Minor units per whole unit are 10^decimals (JPY 0, BTC 8).
    pub decimals: u8,
    /// Networks the asset moves on (`tron`, `erc20`); empty when it has only one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    /// Customer balances held by the venue at declaration, in minor units.
    #[serde(default)]
    pub liabilities_minor: i64,
    #[serde(default)]
    pub hot_minor: i64,
    #[serde(default)]
    pub cold_minor: i64,
}

/// The payload of `venue_declared`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueSpec {
    pub name: String,
    pub assets: Vec<AssetSpec>,
    /// Markets as `BASE/QUOTE`, both declared assets.
    pub markets: Vec<String>,
    /// Whether the venue runs a margin / OTC desk.
    #[serde(default)]
    pub margin: bool,
    /// Roles that must each approve, by distinct people, before withdrawals of an asset
    /// reopen after a wallet compromise.
    #[serde(default)]
    pub approvals_required: Vec<String>,
    /// The rules version the log was written under, and is folded with
    /// (docs/adr/0008-rules-version.md). Absent means 1, so the text of every log
    /// written before versions existed is unchanged.
    #[serde(default, skip_serializing_if = "RulesVersion::is_first")]
    pub rules: RulesVersion,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub code: String,
    pub class: AssetClass,
    pub decimals: u8,
    pub networks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Market {
    pub base: AssetId,
    pub quote: AssetId,
    pub symbol: String,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    Trading,
    Deposits,
    Withdrawals,
    Margin,
    Onboarding,
    Login,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 6] = [
        ServiceKind::Trading,
        ServiceKind::Deposits,
        ServiceKind::Withdrawals,
        ServiceKind::Margin,
        ServiceKind::Onboarding,
        ServiceKind::Login,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Trading => "trading",
            ServiceKind::Deposits => "deposits",
            ServiceKind::Withdrawals => "withdrawals",
            ServiceKind::Margin => "margin",
            ServiceKind::Onboarding => "onboarding",
            ServiceKind::Login => "login",
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a service is about.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceTarget {
    Market(MarketId),
    Asset { asset: AssetId, network: Option<u8> },
    Venue,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub kind: ServiceKind,
    pub target: ServiceTarget,
    /// The canonical selector naming exactly this service, e.g. `deposits:USDT@tron`.
    pub name: String,
}

/// Why a venue declaration is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueError(pub String);

impl fmt::Display for VenueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VenueError {}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Venue {
    pub name: String,
    pub assets: Vec<Asset>,
    pub markets: Vec<Market>,
    pub margin: bool,
    pub approvals_required: Vec<String>,
    pub services: Vec<Service>,
    /// First deposit service of each asset; its networks follow in order, then the
    /// same number of withdrawal services.
    asset_first_service: Vec<u32>,
    margin_service: Option<ServiceId>,
    onboarding_service: ServiceId,
    login_service: ServiceId,
}

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= CODE_LENGTH_MAX
        && code.bytes().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
}

fn valid_network(network: &str) -> bool {
    !network.is_empty()
        && network.len() <= CODE_LENGTH_MAX
        && network.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

impl Venue {
    /// Whether every index this venue holds points inside it: what a venue read back from
    /// a snapshot must satisfy before anything looks an index up in it.
    pub(crate) fn check_consistency(&self) -> Result<(), String> {
        let assets = self.assets.len();
        let services = self.services.len() as u32;
        let asset = |id: AssetId, what: &str| {
            if usize::from(id.0) < assets { Ok(()) } else { Err(format!("{what} names asset {} of {assets}", id.0)) }
        };
        for market in &self.markets {
            asset(market.base, "a market")?;
            asset(market.quote, "a market")?;
        }
        for service in &self.services {
            match service.target {
                ServiceTarget::Market(id) if usize::from(id.0) >= self.markets.len() => {
                    return Err(format!("service `{}` names market {} of {}", service.name, id.0, self.markets.len()));
                }
                ServiceTarget::Asset { asset: id, network } => {
                    asset(id, "a service")?;
                    if network.is_some_and(|n| usize::from(n) >= self.assets[usize::from(id.0)].networks.len()) {
                        return Err(format!("service `{}` names a network its asset lacks", service.name));
                    }
                }
                _ => {}
            }
        }
        if self.asset_first_service.len() != assets {
            return Err(format!("{} first services for {assets} assets", self.asset_first_service.len()));
        }
        let ids = self.asset_first_service.iter().copied().chain(self.margin_service.map(|id| id.0));
        for id in ids.chain([self.onboarding_service.0, self.login_service.0]) {
            if id >= services {
                return Err(format!("a service index {id} of {services}"));
            }
        }
        Ok(())
    }

    /// Builds the venue and its service table, checking every bound and name.
    ///
    /// ```
    /// # use exops_core::*;
    /// # let spec = VenueSpec {
    /// #     name: "Tiny".into(),
    /// #     assets: vec![AssetSpec { code: "BTC".into(), class: AssetClass::Crypto, decimals: 8, networks: vec![],
    /// #         liabilities_minor: 100, hot_minor: 100, cold_minor: 0 }],
    /// #     markets: vec![], margin: false, approvals_required: vec![], rules: RulesVersion::FIRST,
    /// # };
    /// # let at = |hour: i64| Timestamp::from_unix_micros(1_709_510_400_000_000 + hour * 3_600_000_000);
    /// # let staff = Actor::Staff("ops".into());
    /// # let envelope = |seq: u64, actor: &Actor, event: Event| Envelope { seq, at: at(seq as i64), id: seq, actor: actor.clone(), event, note: None };
    /// let venue = Venue::from_spec(&spec).unwrap();
    /// let names: Vec<&str> = venue.services.iter().map(|service| service.name.as_str()).collect();
    /// assert_eq!(names, ["deposits:BTC", "withdrawals:BTC", "onboarding", "login"]);
    /// ```
    pub fn from_spec(spec: &VenueSpec) -> Result<Venue, VenueError> {
        let fail = |message: String| Err(VenueError(message));
        if spec.name.trim().is_empty() {
            return fail("the venue needs a non-empty `name`".into());
        }
        if spec.assets.is_empty() {
            return fail("the venue declares no assets; declare at least one".into());
        }
        if spec.assets.len() > ASSETS_MAX {
            return fail(format!("{} assets declared; at most {ASSETS_MAX}", spec.assets.len()));
        }
        if spec.markets.len() > MARKETS_MAX {
            return fail(format!("{} markets declared; at most {MARKETS_MAX}", spec.markets.len()));
        }
        let mut assets: Vec<Asset> = Vec::with_capacity(spec.assets.len());
        for asset in &spec.assets {
            if !valid_code(&asset.code) {
                return fail(format!(
                    "asset code `{}` is not valid: use 1 to {CODE_LENGTH_MAX} upper-case letters or digits",
                    asset.code
                ));
            }
            if assets.iter().any(|known| known.code == asset.code) {
                return fail(format!("asset `{}` is declared twice", asset.code));
            }
            if asset.decimals > DECIMALS_MAX {
                return fail(format!("asset `{}` has {} decimals; at most {DECIMALS_MAX}", asset.code, asset.decimals));
            }
            if asset.networks.len() > NETWORKS_PER_ASSET_MAX {
                return fail(format!(
                    "asset `{}` declares {} networks; at most {NETWORKS_PER_ASSET_MAX}",
                    asset.code,
                    asset.networks.len()
                ));
            }
            for (index, network) in asset.networks.iter().enumerate() {
                if !valid_network(network) {
                    return fail(format!(
                        "network `{network}` of `{}` is not valid: use lower-case letters, digits and `-`",
                        asset.code
                    ));
                }
                if asset.networks[..index].contains(network) {
                    return fail(format!("network `{network}` of `{}` is declared twice", asset.code));
                }
            }
            for (field, value) in [
                ("liabilities_minor", asset.liabilities_minor),
                ("hot_minor", asset.hot_minor),
                ("cold_minor", asset.cold_minor),
            ] {
                if value < 0 {
                    return fail(format!("asset `{}` has a negative `{field}` ({value})", asset.code));
                }
            }
            assets.push(Asset {
                code: asset.code.clone(),
                class: asset.class,
                decimals: asset.decimals,
                networks: asset.networks.clone(),
            });
        }
        let find = |code: &str| assets.iter().position(|asset| asset.code == code);
        let mut markets: Vec<Market> = Vec::with_capacity(spec.markets.len());
        for symbol in &spec.markets {
            let Some((base, quote)) = symbol.split_once('/') else {
                return fail(format!("market `{symbol}` is not of the form BASE/QUOTE (e.g. BTC/JPY)"));
            };
            let (Some(base_index), Some(quote_index)) = (find(base), find(quote)) else {
                return fail(format!(
                    "market `{symbol}` names an undeclared asset; declared assets: {}",
                    assets.iter().map(|asset| asset.code.as_str()).collect::<Vec<_>>().join(", ")
                ));
            };
            if base_index == quote_index {
                return fail(format!("market `{symbol}` trades an asset against itself"));
            }
            if markets.iter().any(|market| market.symbol == *symbol) {
                return fail(format!("market `{symbol}` is declared twice"));
            }
            markets.push(Market {
                base: AssetId(base_index as u16),
                quote: AssetId(quote_index as u16),
                symbol: symbol.clone(),
            });
        }
        for (index, role) in spec.approvals_required.iter().enumerate() {
            if role.trim().is_empty() || spec.approvals_required[..index].contains(role) {
                return fail(format!("approval role `{role}` is empty or listed twice"));
            }
        }

        let mut services = Vec::new();
        for (index, market) in markets.iter().enumerate() {
            services.push(Service {
                kind: ServiceKind::Trading,
                target: ServiceTarget::Market(MarketId(index as u16)),
                name: format!("trading:{}", market.symbol),
            });
        }
        let mut asset_first_service = Vec::with_capacity(assets.len());
        for (index, asset) in assets.iter().enumerate() {
            asset_first_service.push(services.len() as u32);
            for kind in [ServiceKind::Deposits, ServiceKind::Withdrawals] {
                if asset.networks.is_empty() {
                    services.push(Service {
                        kind,
                        target: ServiceTarget::Asset { asset: AssetId(index as u16), network: None },
                        name: format!("{kind}:{}", asset.code),
                    });
                }
                for (network_index, network) in asset.networks.iter().enumerate() {
                    services.push(Service {
                        kind,
                        target: ServiceTarget::Asset {
                            asset: AssetId(index as u16),
                            network: Some(network_index as u8),
                        },
                        name: format!("{kind}:{}@{network}", asset.code),
                    });
                }
            }
        }
        let mut venue_service = |kind: ServiceKind| {
            services.push(Service { kind, target: ServiceTarget::Venue, name: kind.name().to_owned() });
            ServiceId(services.len() as u32 - 1)
        };
        let margin_service = spec.margin.then(|| venue_service(ServiceKind::Margin));
        let onboarding_service = venue_service(ServiceKind::Onboarding);
        let login_service = venue_service(ServiceKind::Login);

        Ok(Venue {
            name: spec.name.clone(),
            assets,
            markets,
            margin: spec.margin,
            approvals_required: spec.approvals_required.clone(),
            services,
            asset_first_service,
            margin_service,
            onboarding_service,
            login_service,
        })
    }

    pub fn asset(&self, id: AssetId) -> &Asset {
        &self.assets[id.0 as usize]
    }

    pub fn asset_id(&self, code: &str) -> Option<AssetId> {
        self.assets.iter().position(|asset| asset.code == code).map(|index| AssetId(index as u16))
    }

    pub fn market_id(&self, symbol: &str) -> Option<MarketId> {
        self.markets.iter().position(|market| market.symbol == symbol).map(|index| MarketId(index as u16))
    }

    pub fn network_index(&self, asset: AssetId, network: &str) -> Option<u8> {
        self.asset(asset).networks.iter().position(|known| known == network).map(|index| index as u8)
    }

    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.index()]
    }

    pub fn service_id(&self, name: &str) -> Option<ServiceId> {
        self.services.iter().position(|service| service.name == name).map(|index| ServiceId(index as u32))
    }

    pub fn trading_service(&self, market: MarketId) -> ServiceId {
        ServiceId(u32::from(market.0))
    }

    fn network_slots(&self, asset: AssetId) -> u32 {
        self.asset(asset).networks.len().max(1) as u32
    }

    /// The deposit (or withdrawal) services of an asset, one per network.
    pub fn transfer_services(&self, kind: ServiceKind, asset: AssetId) -> std::ops::Range<u32> {
        let first = self.asset_first_service[asset.0 as usize];
        let slots = self.network_slots(asset);
        match kind {
            ServiceKind::Withdrawals => first + slots..first + 2 * slots,
            _ => first..first + slots,
        }
    }

    /// The deposit or withdrawal service of an asset on one network (`None` for an
    /// asset declared without networks).
    pub fn transfer_service(&self, kind: ServiceKind, asset: AssetId, network: Option<u8>) -> ServiceId {
        let range = self.transfer_services(kind, asset);
        ServiceId(range.start + u32::from(network.unwrap_or(0)))
    }

    pub fn margin_service(&self) -> Option<ServiceId> {
        self.margin_service
    }

    pub fn onboarding_service(&self) -> ServiceId {
        self.onboarding_service
    }

    pub fn login_service(&self) -> ServiceId {
        self.login_service
    }

    pub fn market_symbols(&self) -> Vec<&str> {
        self.markets.iter().map(|market| market.symbol.as_str()).collect()
    }

    pub fn asset_codes(&self) -> Vec<&str> {
        self.assets.iter().map(|asset| asset.code.as_str()).collect()
    }
}
