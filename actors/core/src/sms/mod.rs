//! SMS and USSD on the modem: the GSM 7-bit alphabet, SMS PDUs (TS 23.040), long texts
//! put back together, USSD strings, and balances read from USSD replies. Pure code; the
//! modem session sends and reads them, and the modem simulator reads what is sent
//! (`submit_read`) and writes what is received (`deliver_write`).

pub mod balance;
pub mod deliver_write;
pub mod delivery;
pub mod gsm7;
pub mod message;
pub mod pdu;
pub mod reassembly;
pub mod submit_read;
pub mod ussd;
