<?php

namespace App\Http\Controllers;

use App\Support\Health;
use Illuminate\Http\JsonResponse;

class HealthController extends Controller
{
    /**
     * GET /healthz: 200 only when the database (and Redis, where the app uses it) is
     * reachable and no migration is pending; 503 with the reason otherwise. Used by the
     * ALB target group and by the deploy orchestrator's "new task is healthy" check.
     * A healthy answer reports when the scheduler last ran; a late scheduler is not a
     * reason to replace web tasks.
     */
    public function __invoke(Health $health): JsonResponse
    {
        $problem = $health->problem();

        if ($problem !== null) {
            return new JsonResponse(['status' => 'unhealthy', 'reason' => $problem], 503, [
                'Cache-Control' => 'no-store',
            ]);
        }

        return new JsonResponse(
            ['status' => 'ok', 'scheduler' => ['last_run' => $health->schedulerLastRun()]],
            200,
            ['Cache-Control' => 'no-store']
        );
    }
}
