//! SMS and USSD on the modem: the GSM 7-bit alphabet, SMS PDUs (TS 23.040) and USSD
//! strings. Pure codecs; the modem session sends and reads them.

pub mod gsm7;
pub mod pdu;
pub mod ussd;
