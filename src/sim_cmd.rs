//! `e173gw sim`: run the pty modem simulator on its own, or talk to a running one.
