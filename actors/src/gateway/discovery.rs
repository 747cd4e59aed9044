//! Finding modem port pairs: by glob over port paths, or from the USB tree in sysfs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use e173gw_core::config::profile::ModemProfile;

use crate::modem::PortPaths;

/// A port pair found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The ports.
    pub ports: PortPaths,
    /// A profile that fits (from the USB ids), when known.
    pub profile: Option<String>,
}

/// AT ports matching `pattern` (which ends with `at_suffix`), each paired with the path
/// that has `audio_suffix` instead. Pairs whose audio port does not exist are skipped.
pub fn scan_glob(pattern: &str, at_suffix: &str, audio_suffix: &str) -> Vec<Candidate> {
    let Ok(paths) = glob::glob(pattern) else {
        return Vec::new();
    };
    let mut out: Vec<Candidate> = paths
        .filter_map(Result::ok)
        .filter_map(|at| {
            let name = at.to_str()?;
            let stem = name.strip_suffix(at_suffix)?;
            let audio = PathBuf::from(format!("{stem}{audio_suffix}"));
            audio.exists().then(|| Candidate {
                ports: PortPaths {
                    at: at.clone(),
                    audio,
                },
                profile: None,
            })
        })
        .collect();
    out.sort_by(|a, b| a.ports.at.cmp(&b.ports.at));
    out
}

fn read_trim(p: &Path) -> Option<String> {
    fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_ascii_lowercase())
}

/// Finds the tty name under a USB interface directory (`ttyUSB3`, or `tty/ttyACM0`).
fn tty_of(iface: &Path) -> Option<String> {
    let entries = fs::read_dir(iface).ok()?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("ttyUSB") {
            return Some(name);
        }
        if name == "tty" {
            let mut inner = fs::read_dir(e.path()).ok()?;
            if let Some(i) = inner.next().and_then(Result::ok) {
                return Some(i.file_name().to_string_lossy().to_string());
            }
        }
    }
    None
}

/// Scans `root` (normally `/sys/bus/usb/devices`) for USB serial devices whose VID:PID a
/// profile knows, and pairs the profile's data and voice interfaces into port paths under
/// `dev_dir`. The first profile (in name order) that knows the id wins.
pub fn scan_sysfs(
    root: &Path,
    dev_dir: &Path,
    profiles: &BTreeMap<String, Arc<ModemProfile>>,
) -> Vec<Candidate> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    // device name -> interface number -> tty
    let mut devices: BTreeMap<String, BTreeMap<u8, String>> = BTreeMap::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some((dev, _)) = name.split_once(':') else {
            continue;
        };
        let path = e.path();
        let Some(num) =
            read_trim(&path.join("bInterfaceNumber")).and_then(|n| u8::from_str_radix(&n, 16).ok())
        else {
            continue;
        };
        if let Some(tty) = tty_of(&path) {
            devices.entry(dev.to_string()).or_default().insert(num, tty);
        }
    }
    let mut out = Vec::new();
    for (dev, ifaces) in devices {
        let (Some(vid), Some(pid)) = (
            read_trim(&root.join(&dev).join("idVendor")),
            read_trim(&root.join(&dev).join("idProduct")),
        ) else {
            continue;
        };
        let Some((profile, usb)) = profiles
            .values()
            .find_map(|p| p.usb_match(&vid, &pid).map(|u| (p, u)))
        else {
            continue;
        };
        if let (Some(at), Some(audio)) = (ifaces.get(&usb.data), ifaces.get(&usb.voice)) {
            out.push(Candidate {
                ports: PortPaths {
                    at: dev_dir.join(at),
                    audio: dev_dir.join(audio),
                },
                profile: Some(profile.name.clone()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str, usb: &str) -> Arc<ModemProfile> {
        let text = format!(
            "name = \"{name}\"\ndescription = \"t\"\ninit = [\"AT+CGSN\"]\nusb = [{usb}]\n"
        );
        Arc::new(ModemProfile::parse(&text, name).expect("profile"))
    }

    fn write(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, s).expect("write");
    }

    #[test]
    fn sysfs_pairs_interfaces_by_profile() {
        let root = tempfile::tempdir().expect("tmp");
        let r = root.path();
        // An E173 on 12d1:140c: interfaces 0..3, data 3, voice 2.
        write(&r.join("1-1.2/idVendor"), "12d1\n");
        write(&r.join("1-1.2/idProduct"), "140c\n");
        for (i, tty) in [
            (0, "ttyUSB4"),
            (1, "ttyUSB5"),
            (2, "ttyUSB6"),
            (3, "ttyUSB7"),
        ] {
            write(
                &r.join(format!("1-1.2:1.{i}/bInterfaceNumber")),
                &format!("0{i}\n"),
            );
            fs::create_dir_all(r.join(format!("1-1.2:1.{i}/{tty}"))).expect("mkdir");
        }
        // An unknown device and a hub interface without a tty.
        write(&r.join("2-1/idVendor"), "1234\n");
        write(&r.join("2-1/idProduct"), "5678\n");
        write(&r.join("2-1:1.0/bInterfaceNumber"), "00\n");
        fs::create_dir_all(r.join("2-1:1.0/ttyUSB0")).expect("mkdir");
        write(&r.join("usb1/idVendor"), "1d6b\n");
        let mut profiles = BTreeMap::new();
        profiles.insert(
            "e173".to_string(),
            profile(
                "e173",
                "{ vid = \"12d1\", pid = \"140c\", data = 3, voice = 2 }",
            ),
        );
        let found = scan_sysfs(r, Path::new("/dev"), &profiles);
        assert_eq!(
            found,
            vec![Candidate {
                ports: PortPaths {
                    at: "/dev/ttyUSB7".into(),
                    audio: "/dev/ttyUSB6".into()
                },
                profile: Some("e173".into())
            }]
        );
    }

    #[test]
    fn glob_pairs_by_suffix() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        for f in ["a.at", "a.audio", "b.at", "c.audio"] {
            write(&d.join(f), "");
        }
        let found = scan_glob(&format!("{}/*.at", d.display()), ".at", ".audio");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].ports.audio, d.join("a.audio"));
    }
}
