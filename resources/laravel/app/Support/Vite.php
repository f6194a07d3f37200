<?php

namespace App\Support;

use Illuminate\Support\HtmlString;
use RuntimeException;

/**
 * Laravel 8 has no @vite directive: read the manifest that `vite build` writes
 * and emit the tags for an entry point. Vite 5 writes the manifest to
 * public/build/.vite/manifest.json (Vite <= 4: public/build/manifest.json);
 * both are accepted.
 *
 * Laravel's hot-file convention: while public/hot exists, it holds the URL of
 * a running Vite dev server, and the tags load the entries from there (with
 * Vite's client, which swaps edited modules in place) instead of the manifest.
 */
class Vite
{
    /** @var array<string, array<string, mixed>>|null */
    private static $manifest = null;

    /**
     * @param  array<int, string>|string  $entries
     */
    public static function tags($entries, string $buildDirectory = 'build'): HtmlString
    {
        if (is_file(public_path('hot'))) {
            return self::hotTags((array) $entries);
        }

        $manifest = self::manifest($buildDirectory);
        $base = '/'.trim($buildDirectory, '/').'/';
        $html = [];
        $seenCss = [];

        foreach ((array) $entries as $entry) {
            if (! isset($manifest[$entry])) {
                throw new RuntimeException("Unable to locate file in Vite manifest: {$entry}.");
            }

            $chunk = $manifest[$entry];
            $file = $chunk['file'];

            foreach (self::cssFor($manifest, $entry) as $css) {
                if (! isset($seenCss[$css])) {
                    $seenCss[$css] = true;
                    $html[] = '<link rel="stylesheet" href="'.e($base.$css).'">';
                }
            }

            if (self::isCss($file)) {
                if (! isset($seenCss[$file])) {
                    $seenCss[$file] = true;
                    $html[] = '<link rel="stylesheet" href="'.e($base.$file).'">';
                }
            } else {
                $html[] = '<script type="module" src="'.e($base.$file).'"></script>';
            }
        }

        return new HtmlString(implode("\n    ", $html));
    }

    /**
     * The dev server's client and each entry, from the URL in public/hot.
     *
     * @param  array<int, string>  $entries
     */
    private static function hotTags(array $entries): HtmlString
    {
        $url = rtrim(trim((string) file_get_contents(public_path('hot'))), '/');
        $html = ['<script type="module" src="'.e($url.'/@vite/client').'"></script>'];

        foreach ($entries as $entry) {
            $html[] = self::isCss($entry)
                ? '<link rel="stylesheet" href="'.e($url.'/'.$entry).'">'
                : '<script type="module" src="'.e($url.'/'.$entry).'"></script>';
        }

        return new HtmlString(implode("\n    ", $html));
    }

    /** The style sheet languages Vite compiles, as Laravel's own helper lists them. */
    private static function isCss(string $path): bool
    {
        return preg_match('/\.(css|less|sass|scss|styl|stylus|pcss|postcss)$/', $path) === 1;
    }

    /**
     * CSS files an entry needs: its own plus those of the chunks it imports.
     *
     * @param  array<string, array<string, mixed>>  $manifest
     * @return array<int, string>
     */
    private static function cssFor(array $manifest, string $key, array &$visited = []): array
    {
        if (isset($visited[$key]) || ! isset($manifest[$key])) {
            return [];
        }
        $visited[$key] = true;

        $css = $manifest[$key]['css'] ?? [];
        foreach ($manifest[$key]['imports'] ?? [] as $import) {
            $css = array_merge($css, self::cssFor($manifest, $import, $visited));
        }

        return array_values(array_unique($css));
    }

    /**
     * @return array<string, array<string, mixed>>
     */
    public static function manifest(string $buildDirectory = 'build'): array
    {
        if (self::$manifest !== null) {
            return self::$manifest;
        }

        $dir = public_path(trim($buildDirectory, '/'));

        foreach ([$dir.'/.vite/manifest.json', $dir.'/manifest.json'] as $path) {
            if (is_file($path)) {
                $decoded = json_decode((string) file_get_contents($path), true);
                if (! is_array($decoded)) {
                    throw new RuntimeException("Invalid Vite manifest: {$path}.");
                }

                return self::$manifest = $decoded;
            }
        }

        throw new RuntimeException("Vite manifest not found in {$dir} (run `npm run build`).");
    }
}
