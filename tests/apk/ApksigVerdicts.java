// Prints Debian apksig's verdict for every APK in a directory at one SDK level, one JVM for all:
//   <file>\t<accepted|refused>\t<first error>
// With the level "own", each APK is checked as `apksigner verify` does by default: from the
// APK's own minimum SDK up.
// Used by tests/tests/apk_corpus.rs as the reference verifier.
import com.android.apksig.ApkVerifier;
import java.io.File;
import java.util.Arrays;

public class ApksigVerdicts {
    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        boolean own = args[1].equals("own");
        int sdk = own ? 0 : Integer.parseInt(args[1]);
        File[] files = dir.listFiles((d, n) -> n.endsWith(".apk"));
        Arrays.sort(files);
        for (File f : files) {
            String verdict;
            String why = "";
            try {
                ApkVerifier.Builder b = new ApkVerifier.Builder(f);
                if (!own) {
                    b.setMinCheckedPlatformVersion(sdk).setMaxCheckedPlatformVersion(sdk);
                }
                ApkVerifier.Result r = b.build().verify();
                verdict = r.isVerified() ? "accepted" : "refused";
                if (!r.isVerified() && !r.getErrors().isEmpty()) {
                    why = r.getErrors().get(0).toString();
                } else if (!r.isVerified()) {
                    for (ApkVerifier.Result.V2SchemeSignerInfo s : r.getV2SchemeSigners()) {
                        if (!s.getErrors().isEmpty()) { why = s.getErrors().get(0).toString(); break; }
                    }
                    for (ApkVerifier.Result.V3SchemeSignerInfo s : r.getV3SchemeSigners()) {
                        if (why.isEmpty() && !s.getErrors().isEmpty()) { why = s.getErrors().get(0).toString(); break; }
                    }
                    for (ApkVerifier.Result.V1SchemeSignerInfo s : r.getV1SchemeSigners()) {
                        if (why.isEmpty() && !s.getErrors().isEmpty()) { why = s.getErrors().get(0).toString(); break; }
                    }
                }
            } catch (Exception e) {
                verdict = "refused";
                why = e.toString();
            }
            System.out.println(f.getName() + "\t" + verdict + "\t" + why.replace('\t', ' ').replace('\n', ' '));
        }
    }
}
