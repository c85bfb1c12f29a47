package org.smartpos.acquirer

import android.content.Context
import android.content.pm.PackageManager
import com.example.vendor.SampleDriverSet
import org.smartpos.terminal.CardReaderDriver
import org.smartpos.terminal.DeviceInfoDriver
import org.smartpos.terminal.PinPadDriver
import org.smartpos.terminal.PrinterDriver
import org.smartpos.terminal.ScannerDriver

/**
 * The vendor's Kotlin drivers the terminal pays with (the uniffi foreign traits of
 * smartpos-terminal-ffi, over the vendor's SDK).
 *
 * ```kotlin
 * class MyDrivers : DriverFactory {
 *     override fun create(context: Context) = Drivers(MyCardReader(context), MyPinPad(context), MyScanner(context))
 * }
 * // AndroidManifest.xml, inside <application>:
 * // <meta-data android:name="org.smartpos.drivers" android:value="com.vendor.MyDrivers" />
 * ```
 */
data class Drivers(
    val cardReader: CardReaderDriver,
    val pinPad: PinPadDriver,
    val scanner: ScannerDriver?,
    /** The receipt printer (the conformance kit checks it; payments do not print yet). */
    val printer: PrinterDriver? = null,
    /** What the device is (the conformance report names it). */
    val device: DeviceInfoDriver? = null,
) {
    /** Cancels whatever driver call is waiting for the customer. */
    fun cancel() {
        cardReader.cancel(); pinPad.cancel(); scanner?.cancel()
    }
}

/** Makes the vendor's driver set; named by the `org.smartpos.drivers` meta-data. */
fun interface DriverFactory {
    /** The drivers for this device. */
    fun create(context: Context): Drivers

    companion object {
        /** The meta-data key naming the factory class. */
        const val META_DATA = "org.smartpos.drivers"

        /** The factory the app's manifest names (a public class with a no-argument constructor). */
        fun fromManifest(context: Context): DriverFactory {
            val info = context.packageManager.getApplicationInfo(context.packageName, PackageManager.GET_META_DATA)
            val name = info.metaData?.getString(META_DATA)
                ?: throw IllegalStateException("no driver set: add <meta-data android:name=\"$META_DATA\"> naming a DriverFactory")
            return Class.forName(name).getDeclaredConstructor().newInstance() as DriverFactory
        }
    }
}

/**
 * The sample vendor's driver set (`sample-apps/vendor-driver`): a simulated reader, PIN pad and
 * scanner a test or a demonstrator drives. The acquiring APK built here names it.
 */
class SampleDriverFactory : DriverFactory {
    override fun create(context: Context): Drivers = drivers(SampleDriverSet())

    companion object {
        /** The drivers of [set]. */
        fun drivers(set: SampleDriverSet) = Drivers(set.cardReader, set.pinPad, set.scanner, set.printer, set.device)
    }
}
