//! The one JNI entry the acquiring app uses, besides the uniffi calls (which go through JNA).
//!
//! `System.loadLibrary("smartpos_terminal_ffi")` runs [`JNI_OnLoad`]: it keeps the `JavaVM`
//! and routes the library's `tracing` output to logcat (on Android; standard error on the host
//! JVM) before the first payment, so the terminal's log is in the device log with the app's.
//! `org.smartpos.acquirer.NativeBridge.init(tag)` then installs that logger once and answers the
//! library's version, which the app checks against the version its Kotlin bindings were
//! generated for (a mismatched library is refused at start, not at the first customer).
//! JNA stays the path for the generated bindings: it needs no generated C glue per function.

use jni::objects::{JClass, JString};
use jni::sys::{jint, jstring, JNI_VERSION_1_6};
use jni::{JNIEnv, JavaVM};
use std::ffi::c_void;
use std::sync::{Once, OnceLock};

static VM: OnceLock<JavaVM> = OnceLock::new();
static LOGGER: Once = Once::new();

/// Called by the JVM when `System.loadLibrary` loads this library.
///
/// # Safety
/// Called by the JVM only, with its own `JavaVM` pointer.
#[no_mangle]
pub extern "system" fn JNI_OnLoad(vm: JavaVM, _reserved: *mut c_void) -> jint {
    let _ = VM.set(vm);
    JNI_VERSION_1_6
}

/// Whether the library was loaded by a JVM through `System.loadLibrary` (so `JNI_OnLoad` ran).
pub fn loaded_by_jvm() -> bool {
    VM.get().is_some()
}

/// `NativeBridge.init(tag: String): String`: installs the logger (once) under `tag` and
/// answers `smartpos-terminal-ffi <version>`.
#[no_mangle]
pub extern "system" fn Java_org_smartpos_acquirer_NativeBridge_init<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    tag: JString<'local>,
) -> jstring {
    let tag: String = env
        .get_string(&tag)
        .map(Into::into)
        .unwrap_or_else(|_| "smartpos".into());
    LOGGER.call_once(|| install_logger(tag));
    let answer = format!(
        "smartpos-terminal-ffi {} jni={}",
        env!("CARGO_PKG_VERSION"),
        loaded_by_jvm()
    );
    env.new_string(answer)
        .map(|s| s.into_raw())
        .unwrap_or(std::ptr::null_mut())
}

fn install_logger(tag: String) {
    let filter = tracing_subscriber::EnvFilter::new("info");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_writer(move || LogLine::new(tag.clone()))
        .try_init();
}

/// One formatted log line, written to logcat (Android) or standard error when dropped.
struct LogLine {
    tag: String,
    line: Vec<u8>,
}

impl LogLine {
    fn new(tag: String) -> Self {
        LogLine {
            tag,
            line: Vec::new(),
        }
    }
}

impl std::io::Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.line);
        write_log(&self.tag, text.trim_end());
    }
}

#[cfg(target_os = "android")]
fn write_log(tag: &str, text: &str) {
    use std::ffi::CString;
    #[link(name = "log")]
    extern "C" {
        fn __android_log_write(
            prio: i32,
            tag: *const std::ffi::c_char,
            text: *const std::ffi::c_char,
        ) -> i32;
    }
    const ANDROID_LOG_INFO: i32 = 4;
    let (Ok(tag), Ok(text)) = (CString::new(tag), CString::new(text.replace('\0', " "))) else {
        return;
    };
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    unsafe {
        __android_log_write(ANDROID_LOG_INFO, tag.as_ptr(), text.as_ptr());
    }
}

#[cfg(not(target_os = "android"))]
fn write_log(tag: &str, text: &str) {
    eprintln!("{tag}: {text}");
}
