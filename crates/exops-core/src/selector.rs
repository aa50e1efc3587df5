//! Service selectors: the user-facing names for one service or a set of them
//! (`trading:BTC/JPY`, `withdrawals:*`, `deposits:USDT@tron`, `margin`, `*`).
//!
//! Parsing checks syntax only; [`Selector::resolve`] checks the names against a venue.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::venue::{ServiceId, ServiceKind, ServiceTarget, Venue};

/// What the selector grammar accepts, quoted in every parse error.
pub const SELECTOR_SYNTAX: &str = "trading:BASE/QUOTE, trading:*, deposits:ASSET, deposits:ASSET@NETWORK, \
deposits:*, withdrawals:ASSET, withdrawals:ASSET@NETWORK, withdrawals:*, margin, onboarding, login, *";

/// The service names a selector may start with, for suggestions.
const SERVICE_NAMES: [&str; 6] = ["trading", "deposits", "withdrawals", "margin", "onboarding", "login"];

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssetPattern {
    Any,
    Asset { code: String, network: Option<String> },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Selector {
    All,
    Trading { market: Option<String> },
    Deposits(AssetPattern),
    Withdrawals(AssetPattern),
    Margin,
    Onboarding,
    Login,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    pub selector: String,
    pub message: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "selector `{}`: {}", self.selector, self.message)
    }
}

impl std::error::Error for SelectorError {}

fn is_code(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
}

fn is_network(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

impl Selector {
    /// Parses a selector: `trading:BTC/JPY`, `trading:*`, `withdrawals:USDT@tron`,
    /// `margin`, `*`…; an error names the offending token and lists what is valid.
    ///
    /// ```
    /// let selector = exops_core::Selector::parse("withdrawals:*").unwrap();
    /// assert_eq!(selector.to_string(), "withdrawals:*");
    /// assert!(exops_core::Selector::parse("withdrawal:BTC").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Selector, SelectorError> {
        let error = |message: String| SelectorError { selector: input.to_owned(), message };
        let (service, argument) = match input.split_once(':') {
            Some((service, argument)) => (service, Some(argument)),
            None => (input, None),
        };
        let parse_asset = |argument: &str| -> Result<AssetPattern, SelectorError> {
            if argument == "*" {
                return Ok(AssetPattern::Any);
            }
            let (code, network) = match argument.split_once('@') {
                Some((code, network)) => (code, Some(network)),
                None => (argument, None),
            };
            if !is_code(code) {
                return Err(error(format!(
                    "`{code}` is not an asset code (upper-case letters and digits, e.g. BTC) or `*`"
                )));
            }
            if let Some(network) = network
                && !is_network(network)
            {
                return Err(error(format!(
                    "`{network}` is not a network name (lower-case letters, digits and `-`, e.g. tron)"
                )));
            }
            Ok(AssetPattern::Asset { code: code.to_owned(), network: network.map(str::to_owned) })
        };
        match (service, argument) {
            ("*", None) => Ok(Selector::All),
            ("margin", None) => Ok(Selector::Margin),
            ("onboarding", None) => Ok(Selector::Onboarding),
            ("login", None) => Ok(Selector::Login),
            ("margin" | "onboarding" | "login", Some(_)) => Err(error(format!(
                "`{service}` is one venue-wide service and takes no `:` argument; valid: {SELECTOR_SYNTAX}"
            ))),
            ("trading", Some("*")) => Ok(Selector::Trading { market: None }),
            ("trading", Some(market)) => match market.split_once('/') {
                Some((base, quote)) if is_code(base) && is_code(quote) => {
                    Ok(Selector::Trading { market: Some(market.to_owned()) })
                }
                _ => Err(error(format!("`{market}` is not a market: use BASE/QUOTE (e.g. BTC/JPY) or `*`"))),
            },
            ("deposits", Some(argument)) => Ok(Selector::Deposits(parse_asset(argument)?)),
            ("withdrawals", Some(argument)) => Ok(Selector::Withdrawals(parse_asset(argument)?)),
            ("trading" | "deposits" | "withdrawals", None) => Err(error(format!(
                "`{service}` needs an argument after `:` (`{service}:*` for all); valid: {SELECTOR_SYNTAX}"
            ))),
            _ => Err(error(format!(
                "unknown service `{service}`{}; valid: {SELECTOR_SYNTAX}",
                crate::did_you_mean(service, SERVICE_NAMES)
            ))),
        }
    }

    /// The services this selector covers in `venue`, in service order. A name the venue
    /// does not know is an error listing the names it does know.
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
    /// let services = Selector::parse("*").unwrap().resolve(&venue).unwrap();
    /// assert_eq!(services.len(), venue.services.len());
    /// assert!(Selector::parse("deposits:ETH").unwrap().resolve(&venue).is_err());
    /// ```
    pub fn resolve(&self, venue: &Venue) -> Result<Vec<ServiceId>, SelectorError> {
        let error = |message: String| SelectorError { selector: self.to_string(), message };
        let all_of = |kind: ServiceKind| -> Vec<ServiceId> {
            (0..venue.services.len() as u32).map(ServiceId).filter(|id| venue.service(*id).kind == kind).collect()
        };
        match self {
            Selector::All => Ok((0..venue.services.len() as u32).map(ServiceId).collect()),
            Selector::Trading { market: None } => Ok(all_of(ServiceKind::Trading)),
            Selector::Trading { market: Some(symbol) } => match venue.market_id(symbol) {
                Some(market) => Ok(vec![venue.trading_service(market)]),
                None => Err(error(format!(
                    "the venue has no market `{symbol}`{}; its markets: {}",
                    crate::did_you_mean(symbol, venue.market_symbols()),
                    venue.market_symbols().join(", ")
                ))),
            },
            Selector::Deposits(pattern) | Selector::Withdrawals(pattern) => {
                let kind = if matches!(self, Selector::Deposits(_)) {
                    ServiceKind::Deposits
                } else {
                    ServiceKind::Withdrawals
                };
                match pattern {
                    AssetPattern::Any => Ok(all_of(kind)),
                    AssetPattern::Asset { code, network } => {
                        let Some(asset) = venue.asset_id(code) else {
                            return Err(error(format!(
                                "the venue has no asset `{code}`{}; its assets: {}",
                                crate::did_you_mean(code, venue.asset_codes()),
                                venue.asset_codes().join(", ")
                            )));
                        };
                        match network {
                            None => Ok(venue.transfer_services(kind, asset).map(ServiceId).collect()),
                            Some(network) => match venue.network_index(asset, network) {
                                Some(index) => Ok(vec![venue.transfer_service(kind, asset, Some(index))]),
                                None if venue.asset(asset).networks.is_empty() => Err(error(format!(
                                    "asset `{code}` is declared without networks; use `{kind}:{code}`"
                                ))),
                                None => Err(error(format!(
                                    "asset `{code}` has no network `{network}`{}; its networks: {}",
                                    crate::did_you_mean(
                                        network,
                                        venue.asset(asset).networks.iter().map(String::as_str)
                                    ),
                                    venue.asset(asset).networks.join(", ")
                                ))),
                            },
                        }
                    }
                }
            }
            Selector::Margin => match venue.margin_service() {
                Some(service) => Ok(vec![service]),
                None => Err(error("the venue declares no margin desk (`margin: true`)".into())),
            },
            Selector::Onboarding => Ok(vec![venue.onboarding_service()]),
            Selector::Login => Ok(vec![venue.login_service()]),
        }
    }

    /// Whether this selector covers `service` (used for blast-radius checks without
    /// resolving twice).
    pub fn covers(&self, venue: &Venue, service: ServiceId) -> bool {
        let service = venue.service(service);
        let asset_matches = |pattern: &AssetPattern| match (pattern, service.target) {
            (AssetPattern::Any, _) => true,
            (AssetPattern::Asset { code, network }, ServiceTarget::Asset { asset, network: index }) => {
                let asset = venue.asset(asset);
                asset.code == *code
                    && match (network, index) {
                        (None, _) => true,
                        (Some(name), Some(index)) => asset.networks[index as usize] == *name,
                        (Some(_), None) => false,
                    }
            }
            _ => false,
        };
        match self {
            Selector::All => true,
            Selector::Trading { market } => {
                service.kind == ServiceKind::Trading
                    && match (market, service.target) {
                        (None, _) => true,
                        (Some(symbol), ServiceTarget::Market(id)) => venue.markets[id.0 as usize].symbol == *symbol,
                        _ => false,
                    }
            }
            Selector::Deposits(pattern) => service.kind == ServiceKind::Deposits && asset_matches(pattern),
            Selector::Withdrawals(pattern) => service.kind == ServiceKind::Withdrawals && asset_matches(pattern),
            Selector::Margin => service.kind == ServiceKind::Margin,
            Selector::Onboarding => service.kind == ServiceKind::Onboarding,
            Selector::Login => service.kind == ServiceKind::Login,
        }
    }
}

impl fmt::Display for AssetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssetPattern::Any => f.write_str("*"),
            AssetPattern::Asset { code, network: None } => f.write_str(code),
            AssetPattern::Asset { code, network: Some(network) } => write!(f, "{code}@{network}"),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::All => f.write_str("*"),
            Selector::Trading { market: None } => f.write_str("trading:*"),
            Selector::Trading { market: Some(market) } => write!(f, "trading:{market}"),
            Selector::Deposits(pattern) => write!(f, "deposits:{pattern}"),
            Selector::Withdrawals(pattern) => write!(f, "withdrawals:{pattern}"),
            Selector::Margin => f.write_str("margin"),
            Selector::Onboarding => f.write_str("onboarding"),
            Selector::Login => f.write_str("login"),
        }
    }
}

impl std::str::FromStr for Selector {
    type Err = SelectorError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Selector::parse(input)
    }
}

impl Serialize for Selector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Selector::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_brief_example_round_trips() {
        for text in [
            "trading:BTC/JPY",
            "trading:*",
            "deposits:JPY",
            "withdrawals:BTC",
            "withdrawals:*",
            "deposits:USDT@tron",
            "margin",
            "onboarding",
            "login",
            "*",
        ] {
            assert_eq!(Selector::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn errors_name_the_token_and_list_what_is_valid() {
        let error = Selector::parse("trade:BTC/JPY").unwrap_err().to_string();
        assert!(error.contains("unknown service `trade`"), "{error}");
        assert!(error.contains("withdrawals:ASSET@NETWORK"), "{error}");
        let error = Selector::parse("trading:BTCJPY").unwrap_err().to_string();
        assert!(error.contains("`BTCJPY` is not a market"), "{error}");
        let error = Selector::parse("deposits:usdt").unwrap_err().to_string();
        assert!(error.contains("`usdt` is not an asset code"), "{error}");
        let error = Selector::parse("margin:BTC").unwrap_err().to_string();
        assert!(error.contains("takes no `:` argument"), "{error}");
        let error = Selector::parse("withdrawals").unwrap_err().to_string();
        assert!(error.contains("needs an argument"), "{error}");
    }
}
