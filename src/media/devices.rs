//! Audio devices as cpal sees them: hosts, input and output devices, which are the defaults,
//! and the configurations each supports. A machine without a sound card lists nothing; that is
//! not an error.

use cpal::traits::{DeviceTrait, HostTrait};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub channels: u16,
    pub min_rate: u32,
    pub max_rate: u32,
    pub sample_format: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub name: String,
    pub default: bool,
    pub configs: Vec<Config>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub name: String,
    pub inputs: Vec<Device>,
    pub outputs: Vec<Device>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn configs<I: Iterator<Item = cpal::SupportedStreamConfigRange>>(
    it: Result<I, cpal::SupportedStreamConfigsError>,
) -> Vec<Config> {
    it.map(|i| {
        i.map(|c| Config {
            channels: c.channels(),
            min_rate: c.min_sample_rate().0,
            max_rate: c.max_sample_rate().0,
            sample_format: c.sample_format().to_string(),
        })
        .collect()
    })
    .unwrap_or_default()
}

/// Named devices, marking the default, with the configurations `supported` reads.
fn describe(
    devs: impl Iterator<Item = cpal::Device>,
    default: Option<&str>,
    supported: impl Fn(&cpal::Device) -> Vec<Config>,
) -> Vec<Device> {
    devs.filter_map(|d| {
        let name = d.name().ok()?;
        Some(Device { default: default == Some(name.as_str()), configs: supported(&d), name })
    })
    .collect()
}

/// Every host cpal was built with, and its devices.
pub fn list() -> Vec<Host> {
    cpal::available_hosts()
        .into_iter()
        .map(|id| {
            let mut host =
                Host { name: id.name().to_owned(), inputs: Vec::new(), outputs: Vec::new(), error: None };
            let h = match cpal::host_from_id(id) {
                Ok(h) => h,
                Err(e) => {
                    host.error = Some(e.to_string());
                    return host;
                }
            };
            let default_in = h.default_input_device().and_then(|d| d.name().ok());
            let default_out = h.default_output_device().and_then(|d| d.name().ok());
            if let Ok(devs) = h.input_devices() {
                host.inputs = describe(devs, default_in.as_deref(), |d| configs(d.supported_input_configs()));
            }
            if let Ok(devs) = h.output_devices() {
                host.outputs =
                    describe(devs, default_out.as_deref(), |d| configs(d.supported_output_configs()));
            }
            host
        })
        .collect()
}
