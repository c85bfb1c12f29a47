package org.smartpos.acquirer

import android.app.Activity
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.content.pm.PackageManager
import android.os.Build
import android.os.Bundle
import android.util.Log
import android.widget.ArrayAdapter
import android.widget.ListView
import android.widget.Toast
import org.smartpos.terminal.MarketApp
import org.smartpos.terminal.MarketCheck
import org.smartpos.terminal.MarketCheckException

/**
 * The terminal's home screen: lists only the installed apps whose APKs pass the market check
 * (the core's trust store over `ApplicationInfo.sourceDir`), checks again at every launch (the
 * install-time verdict for an unchanged file, in microseconds; a full verification when the
 * file changed), and checks a package again when Android reports it added or replaced.
 *
 * ```xml
 * <activity android:name="org.smartpos.acquirer.LauncherActivity" android:exported="true">
 *   <intent-filter>
 *     <action android:name="android.intent.action.MAIN" />
 *     <category android:name="android.intent.category.HOME" />
 *     <category android:name="android.intent.category.DEFAULT" />
 *   </intent-filter>
 * </activity>
 * ```
 */
class LauncherActivity : Activity() {
    private lateinit var list: ListView
    private var check: MarketCheck? = null

    /** The apps shown, in order. */
    var shown: List<Listed> = emptyList()
        private set

    /** Why each hidden app was hidden (package to reason), for the bank's device report. */
    var hidden: Map<String, String> = emptyMap()
        private set

    /** A launchable app and its market verdict. */
    data class Listed(val label: String, val packageName: String, val activity: String, val app: MarketApp)

    private val packages = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            val pkg = intent.data?.schemeSpecificPart ?: return
            when (intent.action) {
                Intent.ACTION_PACKAGE_REMOVED -> shown.find { it.packageName == pkg }?.let { sourceDir(pkg)?.let(check!!::forget) }
                else -> sourceDir(pkg)?.let { dir ->
                    // A new or replaced APK: verified in full before it is listed again.
                    check?.forget(dir)
                    runCatching { check?.installCheck(dir, pkg, versionCode(pkg)) }
                        .onFailure { Log.w(TAG, "$pkg refused: ${it.message}") }
                }
            }
            refresh()
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        list = ListView(this)
        setContentView(list)
        check = marketCheck(this)
        list.setOnItemClickListener { _, _, position, _ -> launch(shown[position]) }
    }

    override fun onStart() {
        super.onStart()
        val filter = IntentFilter().apply {
            addAction(Intent.ACTION_PACKAGE_ADDED)
            addAction(Intent.ACTION_PACKAGE_REPLACED)
            addAction(Intent.ACTION_PACKAGE_REMOVED)
            addDataScheme("package")
        }
        if (Build.VERSION.SDK_INT >= 33) registerReceiver(packages, filter, RECEIVER_NOT_EXPORTED) else registerReceiver(packages, filter)
        refresh()
    }

    override fun onStop() {
        unregisterReceiver(packages)
        super.onStop()
    }

    /** Lists the launchable, market-verified apps again. */
    fun refresh() {
        val gate = check
        val launchable = packageManager.queryIntentActivities(Intent(Intent.ACTION_MAIN).addCategory(Intent.CATEGORY_LAUNCHER), 0)
            .filter { it.activityInfo.packageName != packageName }
        val ok = mutableListOf<Listed>()
        val refused = mutableMapOf<String, String>()
        for (ri in launchable) {
            val pkg = ri.activityInfo.packageName
            val dir = ri.activityInfo.applicationInfo?.sourceDir
            val verdict = when {
                gate == null -> Result.failure(IllegalStateException("the terminal is not provisioned"))
                dir == null -> Result.failure(IllegalStateException("no APK file"))
                else -> runCatching { gate.launchCheck(dir) }
            }
            verdict.onSuccess { app ->
                if (app.packageName() == pkg) ok += Listed(ri.loadLabel(packageManager).toString(), pkg, ri.activityInfo.name, app)
                else refused[pkg] = "the APK is signed for ${app.packageName()}"
            }.onFailure { refused[pkg] = it.message ?: it.toString() }
        }
        shown = ok.sortedBy { it.label }
        hidden = refused
        list.adapter = ArrayAdapter(this, android.R.layout.simple_list_item_1, shown.map { it.label })
    }

    /** Launches [item] after checking it again; a refused app is not started (and disappears). */
    fun launch(item: Listed): Boolean {
        val dir = sourceDir(item.packageName)
        val ok = dir != null && try {
            check?.launchCheck(dir)?.packageName() == item.packageName
        } catch (e: MarketCheckException) {
            Toast.makeText(this, "Not started: ${e.message}", Toast.LENGTH_LONG).show()
            false
        }
        if (!ok) {
            refresh()
            return false
        }
        startActivity(Intent(Intent.ACTION_MAIN).addCategory(Intent.CATEGORY_LAUNCHER).setClassName(item.packageName, item.activity)
            .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK))
        return true
    }

    private fun sourceDir(pkg: String): String? = try {
        packageManager.getApplicationInfo(pkg, 0).sourceDir
    } catch (e: PackageManager.NameNotFoundException) {
        null
    }

    private fun versionCode(pkg: String): ULong? = try {
        @Suppress("DEPRECATION")
        val info = packageManager.getPackageInfo(pkg, 0)
        (if (Build.VERSION.SDK_INT >= 28) info.longVersionCode else info.versionCode.toLong()).toULong()
    } catch (e: PackageManager.NameNotFoundException) {
        null
    }

    private fun MarketApp.packageName() = `package`

    companion object {
        private const val TAG = "smartpos"

        /** The market check from the terminal's provisioning (null when not provisioned). */
        fun marketCheck(context: Context): MarketCheck? {
            TerminalOwner.current()?.let { return it.market }
            val p = Provisioning.load(context) ?: return null
            return MarketCheck(p.marketRootKey, p.revocationsJson, Build.VERSION.SDK_INT.toUInt())
        }
    }
}
